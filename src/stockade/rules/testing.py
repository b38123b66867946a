"""Rule test files: events in, expected rule matches out.

A test file is YAML::

    rules: [my_rules.yaml]        # optional, relative to the test file; default: Stockade's
    cases:
      - name: shell spawned in container
        events:                   # stockade.model.Event in its capture (JSON Lines) form
          - {type: execve, ts: 1, proc: {pid: 10, name: bash, tty: 34816}, ...}
        fire: [Terminal shell in container]   # rules expected to fire on some event
        not_fire: [Some Other Rule]           # rules expected not to fire on any event

`load_test_file` reads and checks the file (errors name file:line), `run_case` runs one
case against a loaded ruleset, and `run_test_file` does both for a whole file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from stockade.model.events import Event
from stockade.rules.default import default_rule_paths
from stockade.rules.errors import RulesError
from stockade.rules.loader import load_rules
from stockade.rules.ruleset import Ruleset
from stockade.yaml_marks import yaml_position


class RuleTestFileError(RulesError):
    """A rule test file is not valid YAML or does not follow the test file format."""


@dataclass(frozen=True, slots=True)
class RuleCase:
    """One test case: events to replay and the rules expected to fire or stay silent."""

    name: str
    events: tuple[Event, ...]
    fire: frozenset[str]
    not_fire: frozenset[str]
    line: int = 0


@dataclass(frozen=True, slots=True)
class RuleTestFile:
    """A parsed rule test file."""

    path: Path
    rules: tuple[Path, ...]  # resolved against the file's directory; empty: the defaults
    cases: tuple[RuleCase, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one case expected and what fired."""

    case: RuleCase
    fired: frozenset[str]
    unknown: frozenset[str] = frozenset()  # expected names that are not rules of the set

    @property
    def missing(self) -> frozenset[str]:
        """Rules expected to fire that did not."""
        return self.case.fire - self.fired

    @property
    def unexpected(self) -> frozenset[str]:
        """Rules expected to stay silent that fired."""
        return self.case.not_fire & self.fired

    @property
    def ok(self) -> bool:
        """True when the case met every expectation."""
        return not (self.missing or self.unexpected or self.unknown)

    def render(self) -> str:
        """A readable account of a failed case: expected against fired."""
        where = f" (line {self.case.line})" if self.case.line else ""
        lines = [f"FAIL {self.case.name}{where}"]
        if self.missing:
            lines.append(f"  expected to fire:   {', '.join(sorted(self.missing))}")
        if self.unexpected:
            lines.append(f"  fired unexpectedly: {', '.join(sorted(self.unexpected))}")
        if self.unknown:
            lines.append(f"  not rules of the set: {', '.join(sorted(self.unknown))}")
        lines.append(f"  fired: {', '.join(sorted(self.fired)) or '(nothing)'}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TestReport:
    """The outcome of a rule test file."""

    __test__ = False  # not a pytest test class

    path: Path
    cases: tuple[CaseResult, ...] = ()
    errors: tuple[str, ...] = field(default=())  # rule loading errors

    @property
    def ok(self) -> bool:
        """True when the rules loaded and every case passed."""
        return not self.errors and all(c.ok for c in self.cases)

    def render(self) -> str:
        """A summary line and, for each failure, what was expected and what fired."""
        failed = [c for c in self.cases if not c.ok]
        lines = [f"rule load error: {e}" for e in self.errors]
        lines += [c.render() for c in failed]
        passed = len(self.cases) - len(failed)
        lines.append(f"{self.path}: {passed} passed, {len(failed)} failed")
        return "\n".join(lines)


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _as_names(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise RuleTestFileError(f"{where}: expected a rule name or a list of rule names")


def _event(data: Any, where: str, number: int) -> Event:
    if not isinstance(data, Mapping):
        raise RuleTestFileError(f"{where}: an event must be a mapping")
    try:
        event = msgspec.convert(data, Event)
    except msgspec.ValidationError as e:
        raise RuleTestFileError(f"{where}: invalid event: {e}") from e
    # evt.num counts from 1 (Falco's never_true macro is `evt.num=0`).
    if event.seq == 0:
        event.seq = number
    return event


def _case(node: yaml.MappingNode, data: Any, origin: str, first_number: int) -> RuleCase:
    where = f"{origin}:{_line_of(node)}"
    if not isinstance(data, Mapping):
        raise RuleTestFileError(f"{where}: a case must be a mapping")
    extra = set(data) - {"name", "events", "fire", "not_fire"}
    if extra:
        raise RuleTestFileError(f"{where}: unknown case keys: {', '.join(sorted(extra))}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise RuleTestFileError(f"{where}: a case needs a name")
    events_data = data.get("events")
    if not isinstance(events_data, list) or not events_data:
        raise RuleTestFileError(f"{where}: case {name!r} needs a non-empty list of events")
    events_node = next(v for k, v in node.value if k.value == "events")
    if not isinstance(events_node, yaml.SequenceNode):
        raise RuleTestFileError(f"{where}: case {name!r}: events must be a list")
    events = tuple(
        _event(item, f"{origin}:{_line_of(n)}", first_number + i)
        for i, (item, n) in enumerate(zip(events_data, events_node.value, strict=True))
    )
    fire = _as_names(data.get("fire"), f"{where}: fire")
    not_fire = _as_names(data.get("not_fire"), f"{where}: not_fire")
    if not fire and not not_fire:
        raise RuleTestFileError(f"{where}: case {name!r} expects nothing (add fire/not_fire)")
    if fire & not_fire:
        both = ", ".join(sorted(fire & not_fire))
        raise RuleTestFileError(f"{where}: case {name!r} both fires and does not fire {both}")
    return RuleCase(name, events, fire, not_fire, _line_of(node))


def parse_test_file(text: str, path: Path) -> RuleTestFile:
    """Parse rule test YAML `text` read from `path`; errors name file:line."""
    origin = str(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        position = yaml_position(e)
        line = f":{position[0]}" if position else ""
        raise RuleTestFileError(f"{origin}{line}: invalid YAML: {e}") from e
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise RuleTestFileError(f"{origin}:1: a rule test file is a mapping with 'cases'")
    nodes = {k.value: v for k, v in root.value}
    extra = set(data) - {"rules", "cases"}
    if extra:
        raise RuleTestFileError(f"{origin}:1: unknown keys: {', '.join(sorted(extra))}")
    rules = data.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise RuleTestFileError(f"{origin}:{_line_of(nodes['rules'])}: rules: a list of paths")
    cases_data = data.get("cases")
    cases_node = nodes.get("cases")
    if not isinstance(cases_data, list) or not isinstance(cases_node, yaml.SequenceNode):
        raise RuleTestFileError(f"{origin}:1: 'cases' must be a list of cases")
    cases: list[RuleCase] = []
    number = 1
    for item, node in zip(cases_data, cases_node.value, strict=True):
        if not isinstance(node, yaml.MappingNode):
            raise RuleTestFileError(f"{origin}:{_line_of(node)}: a case must be a mapping")
        case = _case(node, item, origin, number)
        number += len(case.events)
        cases.append(case)
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuleTestFileError(f"{origin}: duplicate case names: {', '.join(duplicates)}")
    base = path.parent
    return RuleTestFile(path, tuple(base / r for r in rules), tuple(cases))


def load_test_file(path: Path) -> RuleTestFile:
    """Read and parse the rule test file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RuleTestFileError(f"{path}: cannot read: {e}") from e
    return parse_test_file(text, path)


def run_case(ruleset: Ruleset, case: RuleCase) -> CaseResult:
    """Replay the events of `case` through `ruleset` and compare with its expectations."""
    known = {rule.name for rule in ruleset.rules}
    fired: set[str] = set()
    for event in case.events:
        fired.update(alert.rule for alert in ruleset.evaluate(event))
    unknown = (case.fire | case.not_fire) - known
    return CaseResult(case, frozenset(fired), frozenset(unknown))


def run_test_file(path: Path, *, rules: Sequence[Path] | None = None) -> TestReport:
    """Run every case of the test file at `path`.

    The rules are `rules` when given, else the file's own `rules:` list, else Stockade's
    default rules. Errors in the test file raise RuleTestFileError (with file:line); rule
    load errors are reported in `TestReport.errors`.
    """
    test_file = load_test_file(path)
    rule_paths = list(rules) if rules is not None else list(test_file.rules)
    ruleset = load_rules(rule_paths or default_rule_paths())
    if ruleset.errors:
        return TestReport(path, (), tuple(str(e) for e in ruleset.errors))
    return TestReport(path, tuple(run_case(ruleset, case) for case in test_file.cases))
