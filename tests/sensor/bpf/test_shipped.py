"""The shipped CO-RE object loads without clang or bpftool; a broken one falls back loudly."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.sensor.bpf.build import c_sources, sources_key
from stockade.sensor.bpf.loader import LoadedSensor
from stockade.sensor.bpf.shipped import (
    OBJECT_NAME,
    STAMP_NAME,
    in_source_checkout,
    load_object,
    shipped_object,
    write_shipped,
)
from stockade.sensor.bpf.source import ALL_PROGRAMS

ROOT = Path(__file__).resolve().parents[3]

# Run in a child whose PATH holds no clang and no bpftool: what a host without them sees.
LOAD_WITHOUT_TOOLS = """
import json, shutil, sys
from pathlib import Path
from stockade.sensor.bpf.loader import LoadedSensor
from stockade.sensor.bpf.shipped import load_object
from stockade.sensor.bpf.source import ALL_PROGRAMS

assert shutil.which("clang") is None and shutil.which("bpftool") is None
loaded = load_object(
    lambda obj: LoadedSensor(obj, ALL_PROGRAMS, attach=False),
    package_dir=Path(sys.argv[1]),
    cache_dir=Path(sys.argv[2]),
)
loaded.value.close()
print(json.dumps({"path": str(loaded.path), "fallback": loaded.fallback_reason}))
"""


def _probe(obj: Path) -> LoadedSensor:
    return LoadedSensor(obj, ALL_PROGRAMS, attach=False)


def test_missing_object_is_not_used(tmp_path: Path) -> None:
    assert shipped_object(tmp_path) == (None, f"no CO-RE object shipped in {tmp_path}")


def test_object_from_other_sources_is_not_used(tmp_path: Path) -> None:
    (tmp_path / OBJECT_NAME).write_bytes(b"\x7fELF")
    (tmp_path / STAMP_NAME).write_text("0" * 24 + "\n")
    obj, reason = shipped_object(tmp_path)
    assert obj is None
    assert reason is not None and "built from other C sources" in reason
    (tmp_path / STAMP_NAME).write_text(sources_key(c_sources()) + "\n")
    assert shipped_object(tmp_path) == (tmp_path / OBJECT_NAME, None)


@pytest.fixture(scope="module")
def shipped_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package directory holding the object as the package build makes it."""
    where = tmp_path_factory.mktemp("package")
    write_shipped(where)
    return where


@pytest.fixture(scope="module")
def host_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One host-build cache for the fallback tests: the first compiles with clang, the
    others find that object there (the fallback decision is what each of them tests)."""
    return tmp_path_factory.mktemp("host-build")


@pytest.mark.ebpf
def test_shipped_object_loads_without_clang_or_bpftool(shipped_dir: Path, tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    env = {**os.environ, "PATH": str(no_tools), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    child = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_TOOLS, str(shipped_dir), str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result == {"path": str(shipped_dir / OBJECT_NAME), "fallback": None}
    assert not (tmp_path / "cache").exists()  # nothing was built on the host


@pytest.mark.ebpf
def test_broken_shipped_object_falls_back_to_a_host_build(
    tmp_path: Path, host_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / OBJECT_NAME).write_bytes(b"\x7fELF not an object")
    (package / STAMP_NAME).write_text(sources_key(c_sources()) + "\n")
    with caplog.at_level(logging.WARNING, logger="stockade.sensor.bpf.shipped"):
        loaded = load_object(_probe, package_dir=package, cache_dir=host_cache)
    loaded.value.close()
    assert loaded.path.is_relative_to(host_cache)
    assert loaded.fallback_reason is not None
    assert loaded.fallback_reason.startswith("the shipped object did not load on this kernel")
    (message,) = [r.getMessage() for r in caplog.records]
    assert "building the object on this host (clang, bpftool)" in message


@pytest.mark.ebpf
def test_missing_shipped_object_falls_back_to_a_host_build(
    tmp_path: Path, host_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stockade.sensor.bpf.shipped"):
        loaded = load_object(_probe, package_dir=tmp_path, cache_dir=host_cache)
    loaded.value.close()
    assert loaded.path.is_relative_to(host_cache)
    assert loaded.fallback_reason == f"no CO-RE object shipped in {tmp_path}"
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"eBPF: no CO-RE object shipped in {tmp_path}; building")


def test_source_checkout_is_told_from_an_installed_package(tmp_path: Path) -> None:
    assert in_source_checkout(ROOT / "src" / "stockade" / "sensor" / "bpf")
    installed = tmp_path / "site-packages" / "stockade" / "sensor" / "bpf"
    installed.mkdir(parents=True)
    assert not in_source_checkout(installed)


@pytest.mark.ebpf
def test_source_checkout_builds_on_the_host_at_debug_level(
    tmp_path: Path, host_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkout = tmp_path / "checkout"
    package = checkout / "src" / "stockade" / "sensor" / "bpf"
    package.mkdir(parents=True)
    (checkout / "setup.py").write_text("")
    with caplog.at_level(logging.DEBUG, logger="stockade.sensor.bpf.shipped"):
        loaded = load_object(_probe, package_dir=package, cache_dir=host_cache)
    loaded.value.close()
    assert loaded.path.is_relative_to(host_cache)
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith(f"eBPF: no CO-RE object shipped in {package}")
