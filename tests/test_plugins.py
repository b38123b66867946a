"""Every registry is filled through the one loader (`stockade.plugins`), and nothing in
src/ registers built-ins another way."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockade import plugins

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "stockade"


@dataclass(frozen=True)
class Declared:
    """A `NAME = Registry("capability")` found in src/."""

    module: str
    name: str
    capability: str


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _declared_registries() -> list[Declared]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.AnnAssign | ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "Registry"
            ):
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                assert isinstance(target, ast.Name)
                capability = node.value.args[0]
                assert isinstance(capability, ast.Constant)
                found.append(Declared(_module_name(path), target.id, str(capability.value)))
    return found


REGISTRIES = _declared_registries()


def test_every_registry_has_its_built_ins_listed_once() -> None:
    capabilities = [r.capability for r in REGISTRIES]
    assert len(capabilities) == len(set(capabilities)), "two registries share a capability"
    assert set(capabilities) == set(plugins.BUILTIN_MODULES)
    assert len(REGISTRIES) >= 14  # the walk found them


# Run in a fresh interpreter: import the registry's module, note which built-in modules
# are loaded, read the registry, and say where each registered item was defined.
PROBE = """
import importlib, json, sys
from stockade import plugins
module, name, capability = sys.argv[1:4]
registry = getattr(importlib.import_module(module), name)
builtins = plugins.BUILTIN_MODULES[capability]
before = [m for m in builtins if m in sys.modules and m != module]
items = registry.items()
print(json.dumps({
    "before": before,
    "ids": [key for key, _ in items],
    "defined_in": sorted({getattr(i, "__module__", type(i).__module__) for _, i in items}),
    "after": [m for m in builtins if m in sys.modules],
    "failed": plugins.FAILED,
}))
"""


# Registries whose built-ins load as soon as their package is imported, and why.
LOADED_ON_IMPORT = {
    "version scheme": "NpmRange, in the package, is built on SemVer, a registered scheme",
    "output format": "the package reads WRITERS when imported, for FORMATS",
}


@pytest.mark.parametrize("declared", REGISTRIES, ids=lambda r: r.capability)
def test_a_registry_loads_its_built_ins_when_read_and_not_before(declared: Declared) -> None:
    args = [declared.module, declared.name, declared.capability]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    builtins = plugins.BUILTIN_MODULES[declared.capability]
    if declared.capability not in LOADED_ON_IMPORT:
        assert seen["before"] == [], "imported before the registry was read"
    assert seen["ids"], "the registry is empty once read"
    assert seen["after"] == list(builtins)
    assert seen["failed"] == {}
    assert set(seen["defined_in"]) <= set(builtins)  # every item came from a listed module


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{a.name}" for a in node.names)
    return modules


def test_no_registry_package_imports_its_built_ins() -> None:
    """The old way: a package __init__ importing plug-in modules for their side effect."""
    strays = []
    for declared in REGISTRIES:
        package = declared.module.rsplit(".", 1)[0] if "." in declared.module else ""
        init = SRC / package.replace(".", "/") / "__init__.py"
        own = set(plugins.BUILTIN_MODULES[declared.capability]) - {package, declared.module}
        strays += [f"{init.relative_to(SRC)}: {m}" for m in sorted(_imports(init) & own)]
    assert strays == []


# Patterns of the ways built-ins were loaded before plugins.py: dynamic imports, module
# tables, package walks, imports kept only for their side effect.
OLD_PATTERNS = ("import_module(", "pkgutil", "imported to register", "_MODULES = (", "F401")
ALLOWED = {"stockade/plugins.py", "stockade/cli/main.py"}  # cli/main loads command modules


def test_no_module_in_src_loads_plug_ins_another_way() -> None:
    hits = [
        f"{path.relative_to(SRC)}: {pattern}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(SRC)) not in ALLOWED
        for pattern in OLD_PATTERNS
        if pattern in path.read_text()
    ]
    assert hits == []


def test_an_unloadable_built_in_is_named_in_the_unknown_id_error() -> None:
    from stockade.registry import Registry

    plugins.BUILTIN_MODULES["test capability"] = ("stockade.no_such_plugin_module",)
    try:
        registry: Registry[int] = Registry("test capability")
        message = registry.unknown("x")
    finally:
        del plugins.BUILTIN_MODULES["test capability"]
        plugins.FAILED.pop("stockade.no_such_plugin_module", None)
    assert message.startswith("unknown test capability 'x' (known: none) (not loaded: ")
    assert "stockade.no_such_plugin_module: No module named" in message


def test_a_thread_reading_during_the_load_waits_for_all_built_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from stockade.registry import Registry

    registry: Registry[int] = Registry("test slow capability")
    gate, entered = threading.Event(), threading.Event()
    (tmp_path / "test_slow_plugin.py").write_text(
        "import test_plugins_gate as g\n"
        "g.entered.set()\n"
        "g.gate.wait(10)\n"
        "g.registry.register('first', 1)\n"
        "g.registry.register('second', 2)\n"
    )
    gate_module = type(sys)("test_plugins_gate")
    gate_module.__dict__.update(gate=gate, entered=entered, registry=registry)
    monkeypatch.setitem(sys.modules, "test_plugins_gate", gate_module)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(plugins.BUILTIN_MODULES, "test slow capability", ("test_slow_plugin",))
    seen: dict[str, list[str]] = {}

    def read(name: str) -> None:
        seen[name] = list(registry)

    loader = threading.Thread(target=read, args=("loader",))
    loader.start()
    assert entered.wait(10)
    reader = threading.Thread(target=read, args=("reader",))
    reader.start()
    gate.set()
    for thread in (loader, reader):
        thread.join(10)
    monkeypatch.delitem(sys.modules, "test_slow_plugin")
    assert seen == {"loader": ["first", "second"], "reader": ["first", "second"]}
