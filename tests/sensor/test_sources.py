"""Every event source is built from SOURCES the same way, and the fallback chain is
declared once (sensor/fallback.py) and read by the agent, doctor, watch and record."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from stockade.agent import AgentConfig
from stockade.cli.doctor import Check, chosen_source
from stockade.model import EventType
from stockade.sensor.base import SOURCES, EventSource, SensorUnavailable
from stockade.sensor.fallback import DEFAULT_CHAIN, choose_source, parse_chain

SRC = Path(__file__).resolve().parents[2] / "src" / "stockade"


def test_the_chain_names_registered_sources_only() -> None:
    assert {i for candidate in DEFAULT_CHAIN for i in candidate} == set(SOURCES)


@pytest.mark.parametrize("source_id", sorted(SOURCES))
def test_every_source_takes_the_event_types_then_keyword_options(source_id: str) -> None:
    cls = SOURCES.get(source_id)
    first, *options = inspect.signature(cls).parameters.values()
    assert first.name == "event_types"
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in options), options
    assert all(p.default is not inspect.Parameter.empty for p in options), options
    source = cls(frozenset({EventType.EXECVE, EventType.OPENAT}))  # no kernel work yet
    assert isinstance(source, EventSource) and source.id == source_id


def test_an_unknown_source_id_names_the_known_ones() -> None:
    with pytest.raises(SensorUnavailable) as caught:
        choose_source((("nosuch",),))
    assert (
        "nosuch: unknown event source 'nosuch' (known: audit, ebpf, fanotify, proc_connector)"
        in (str(caught.value))
    )


def test_the_agent_and_choose_source_default_to_the_one_chain(tmp_path: Path) -> None:
    assert AgentConfig(tmp_path, "https://127.0.0.1:1").sources is DEFAULT_CHAIN
    assert inspect.signature(choose_source).parameters["chain"].default is DEFAULT_CHAIN
    assert parse_chain(["ebpf", "proc_connector+fanotify"]) == (
        ("ebpf",),
        ("proc_connector", "fanotify"),
    )


@pytest.mark.parametrize("unusable", [(), ("ebpf",), ("ebpf", "audit")], ids=str)
def test_doctor_names_the_first_usable_candidate_of_the_chain(unusable: tuple[str, ...]) -> None:
    checks = [Check("event source", i, "no" if i in unusable else None) for i in SOURCES]
    usable = [c for c in DEFAULT_CHAIN if not set(c) & set(unusable)]
    assert chosen_source(checks) == "+".join(usable[0])


def _chains_declared(tree: ast.AST) -> list[int]:
    """Lines of literals naming two or more source ids (a chain), or an "a+b" candidate."""
    ids = {"ebpf", "audit", "proc_connector", "fanotify"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if len(names & ids) >= 2:
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "+" in node.value
            and set(node.value.split("+")) <= ids
        ):
            lines.append(node.lineno)
    return lines


def test_no_module_but_the_fallback_declares_a_chain() -> None:
    found = {
        f"{path.relative_to(SRC)}:{line}"
        for path in SRC.rglob("*.py")
        for line in _chains_declared(ast.parse(path.read_text()))
    }
    assert {f.split(":")[0] for f in found} == {"sensor/fallback.py"}, found
