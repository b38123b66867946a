"""Index stage: enabled rules by event type, each type with its generated dispatch function."""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.rules import ast
from stockade.rules.batch import build_dispatch
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.evttypes import specialize
from stockade.rules.ruleset import Candidates, CompiledRule, Dispatch, _nothing


@dataclass(slots=True)
class BuiltIndex:
    """Candidates and dispatch functions per event type, plus the catch-all for others."""

    candidates: dict[str, Candidates] = field(default_factory=dict)
    catchall: Candidates = ()
    dispatch: dict[str, Dispatch] = field(default_factory=dict)
    catchall_dispatch: Dispatch = _nothing


def build_index(
    rules: list[CompiledRule], compiler: ConditionCompiler, *, first_only: bool
) -> BuiltIndex:
    """Index enabled rules by the event types their conditions allow.

    Rules with no evt.type constraint join every known type and the catch-all used for
    types no rule names. Each type's rules are specialised to it (evt.type checks
    decided) before their dispatch function is generated.
    """
    enabled = [r for r in rules if r.enabled]
    known: set[str] = set()
    for r in enabled:
        known |= r.event_types or set()
    built = BuiltIndex()
    for t in sorted(known):
        members = [r for r in enabled if r.event_types is None or t in r.event_types]
        built.candidates[t] = tuple((r, r.predicate) for r in members)
        entries = [(r, specialize(r.tree, t)) for r in members]
        entries = [(r, tree) for r, tree in entries if tree != ast.Const(False)]
        built.dispatch[t] = build_dispatch(compiler, entries, first_only=first_only, label=t)
    generic = [r for r in enabled if r.event_types is None]
    built.catchall = tuple((r, r.predicate) for r in generic)
    if generic:
        built.catchall_dispatch = build_dispatch(
            compiler, [(r, r.tree) for r in generic], first_only=first_only, label="any type"
        )
    return built
