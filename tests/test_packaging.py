"""What the package declares and ships: direct imports declared, the wheel's file list."""

from __future__ import annotations

import ast
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.capabilities import ebpf
from tests.support.ci import require
from tests.support.wheel import GENERATED_C

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "stockade"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def imported_top_level(root: Path) -> set[str]:
    """The top-level names of every absolute import in the Python files under `root`."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"stockade", "tests", "benchmarks"}


def test_every_direct_import_is_a_declared_dependency() -> None:
    shipped = [
        *PROJECT["project"]["dependencies"],
        *PROJECT["project"]["optional-dependencies"]["platform"],
    ]
    declared = {canonicalize_name(Requirement(r).name) for r in shipped}
    owners = packages_distributions()
    undeclared = {
        module: owners.get(module)
        for module in imported_top_level(SRC)
        if not {canonicalize_name(d) for d in owners.get(module, [])} & declared
    }
    assert undeclared == {}


def test_mypy_overrides_name_only_modules_in_use() -> None:
    checked = (SRC, ROOT / "tests", ROOT / "benchmarks")  # what mypy checks
    imported = set().union(*(imported_top_level(root) for root in checked))
    overrides = [m for o in PROJECT["tool"]["mypy"]["overrides"] for m in o["module"]]
    assert [m for m in overrides if m.split(".")[0] not in imported] == []


@pytest.mark.slow
def test_wheel_ships_bpf_sources_and_object_but_not_generated_c(stockade_wheel: Path) -> None:
    names = set(zipfile.ZipFile(stockade_wheel).namelist())
    assert names & GENERATED_C == set()
    bpf = {"c/sensor.bpf.c", "c/common.bpf.h", "c/net.bpf.h", "c/record.h"}
    assert {f"stockade/sensor/bpf/{name}" for name in bpf} <= names
    shipped = {"stockade/sensor/bpf/sensor.bpf.o", "stockade/sensor/bpf/sensor.bpf.o.sources"}
    require(not ebpf(), f"the CO-RE object is built with the wheel only with eBPF: {ebpf()}")
    assert shipped <= names  # compiled once at build time: hosts need no clang or bpftool
    data = {
        str(p.relative_to(SRC.parent))
        for p in SRC.rglob("*")
        if p.suffix in {".yaml", ".html", ".js", ".css", ".pyi"} or p.name == "py.typed"
    }
    assert data - names == set()
