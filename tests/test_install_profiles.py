"""`stockade[agent]` holds exactly what the agent imports; nothing of the platform's."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PLATFORM_ONLY = ("stockade.platform", "stockade.cli.platform")  # commands an agent never runs

# Everything an agent host runs: the CLI, the agent with its default rules built, every
# built-in plug-in it may choose, its image scan child and `stockade doctor`. Prints the
# modules loaded.
AGENT_RUN = """
import sys, tempfile
from contextlib import suppress
from pathlib import Path

from stockade.cli.main import app
with suppress(SystemExit):
    app(["agent", "--help"])
from stockade import plugins
from stockade.agent import Agent, AgentConfig
for capability in (
    "event source", "container runtime", "detector", "response action", "alert output",
    "image source", "analyzer",
):
    plugins.load_builtins(capability)
Agent(AgentConfig(state_dir=Path(tempfile.mkdtemp()), server_url="https://127.0.0.1:1"))
import stockade.agent.scan_child, stockade.cli.doctor, stockade.scan.scanner
print(" ".join(sys.modules))
"""


def _loaded_by_the_agent() -> list[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    child = subprocess.run(
        [sys.executable, "-c", AGENT_RUN],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    return child.stdout.splitlines()[-1].split()


def _imports(module: str) -> set[str]:
    """Every module `module` imports, at its top or inside a function (run later)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not (spec.origin or "").endswith(".py"):
        return set()
    names: set[str] = set()
    for node in ast.walk(ast.parse(Path(str(spec.origin)).read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def agent_distributions() -> set[str]:
    """Distributions the agent's modules import, following Stockade's own imports."""
    todo = [m for m in _loaded_by_the_agent() if m.startswith("stockade")]
    seen: set[str] = set()
    tops = {m.split(".")[0] for m in todo}
    while todo:
        module = todo.pop()
        if module in seen or module.startswith(PLATFORM_ONLY):
            continue
        seen.add(module)
        for name in _imports(module):
            tops.add(name.split(".")[0])
            if name.startswith("stockade.") and importlib.util.find_spec(name.rpartition(".")[0]):
                todo.append(name if _is_module(name) else name.rpartition(".")[0])
    owners = packages_distributions()
    third_party = tops - set(sys.stdlib_module_names) - {"stockade"}
    return {canonicalize_name(d) for top in third_party for d in owners.get(top, [])}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_the_agent_imports_exactly_the_agent_profile_and_nothing_of_the_platform() -> None:
    extras = PROJECT["optional-dependencies"]
    agent_profile = _names(PROJECT["dependencies"]) | _names(extras["agent"])
    platform = _names(extras["platform"])
    imported = agent_distributions()
    assert imported & platform == set()
    assert imported & (agent_profile | platform) == agent_profile  # none declared in vain
