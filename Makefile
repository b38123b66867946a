# Stockade: `make up` runs platform + local agent; `make test` runs lint, types and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-installed when the package list or a compiled module changes (editable: Python is live).
PYX    := $(shell find src -name '*.pyx' | sort)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml setup.py $(PYX) | sha1sum | cut -c1-12)

.PHONY: up test lint typecheck pytest bench soak system-deps-run system-deps-test system-deps-bench clean

$(STAMP): pyproject.toml setup.py $(PYX)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[platform,dev,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

system-deps-run:
	@scripts/install-system-deps.sh run
system-deps-test:
	@scripts/install-system-deps.sh test
system-deps-bench:
	@scripts/install-system-deps.sh bench

up: system-deps-run $(STAMP)
	$(BIN)/stockade up

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks setup.py
	$(BIN)/ruff format --check src tests benchmarks setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: system-deps-test $(STAMP)
	$(BIN)/pytest -q --durations=30

test: lint typecheck pytest

bench: system-deps-bench $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# An hour of 200 simulated agents on a fleet with random faults (CI does not run it).
soak: system-deps-test $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python benchmarks/soak_fleet.py --minutes 60

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
	find src -name "*.so" -delete
	for f in $(PYX); do rm -f "$${f%.pyx}.c"; done
