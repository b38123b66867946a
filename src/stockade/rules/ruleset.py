"""A loaded, compiled and indexed set of rules; `Ruleset.evaluate` judges one event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from stockade.model import Alert, Event, Priority
from stockade.model.alerts import THIS_HOST, new_alert
from stockade.rules import ast
from stockade.rules.messages import LoadMessage
from stockade.rules.output import OutputFormat

Matching = Literal["all", "first"]
Predicate = Callable[[Event], bool]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """One rule ready to run: its metadata, expanded AST, predicate and output."""

    name: str
    condition: str
    output: str
    priority: Priority
    tags: tuple[str, ...]
    enabled: bool
    source: str
    event_types: frozenset[str] | None  # None: every event type
    description: str
    tree: ast.Node
    predicate: Predicate
    formatter: OutputFormat
    file: str = ""
    line: int = 0
    column: int = 0

    def alert(self, event: Event) -> Alert:
        """The Falco-shaped alert this rule raises for `event`."""
        text, fields = self.formatter.format(event)
        return new_alert(
            rule=self.name,
            priority=self.priority,
            text=text,
            ts=event.ts,
            fields=fields,
            source=self.source,
            tags=self.tags,
            hostname=THIS_HOST,
            host_id=event.host_id,
            container_id=event.container.id,
            event_seq=event.seq,
        )


Candidates = tuple[tuple[CompiledRule, Predicate], ...]
Dispatch = Callable[[Event], list[CompiledRule]]


def _nothing(_event: Event) -> list[CompiledRule]:
    return []


@dataclass(slots=True)
class Ruleset:
    """Compiled rules indexed by event type, with the load's errors and warnings."""

    rules: list[CompiledRule] = field(default_factory=list)
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)
    matching: Matching = "all"
    index: dict[str, Candidates] = field(default_factory=dict)
    catchall: Candidates = ()
    dispatch: dict[str, Dispatch] = field(default_factory=dict)
    catchall_dispatch: Dispatch = _nothing

    @property
    def ok(self) -> bool:
        """True when the load had no errors."""
        return not self.errors

    def rule(self, name: str) -> CompiledRule:
        """The compiled rule called `name` (KeyError if none)."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def candidates(self, event_type: str) -> Candidates:
        """The enabled rules (with their predicates) an event of this type must meet."""
        return self.index.get(event_type, self.catchall)

    def evaluate(self, event: Event) -> list[Alert]:
        """Alerts of every matching enabled rule (only the first when matching='first')."""
        hits = self.dispatch.get(event.type, self.catchall_dispatch)(event)
        return [rule.alert(event) for rule in hits] if hits else []

    def matches(self, event: Event) -> list[CompiledRule]:
        """The matching rules, without building alerts (for tests and benchmarks)."""
        return self.dispatch.get(event.type, self.catchall_dispatch)(event)
