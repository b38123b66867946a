"""Correlation files: YAML items read with their positions, checked, and compiled.

    - correlation: Port scan from container      # the alert's rule name
      desc: ...
      condition: evt.type = connect and ...      # a count: which events count
      # or  sequence: [cond A, cond B, ...]      # a sequence: steps in order
      group_by: [container.id, fd.sip]           # Falco fields
      distinct: fd.sport                         # count distinct values (optional)
      threshold: 20                              # count only
      window: 10s                                # ms, s, m, h (or a number of seconds)
      suppress: 5m                               # one alert per group per this (default: window)
      priority: WARNING
      output: ... %corr.count ...                # Falco output; %corr.count = the count
      tags: [network, T1046]

Conditions are Falco's condition language, compiled by the rule compiler over the rules'
field table (a correlation file has no macros or lists of its own). Every problem is a
`LoadMessage` with file:line:column and a stable code, as rule loading gives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stockade.detect.base import DetectError, DetectorConfig
from stockade.detect.correlation import COUNT_MARK, Correlation, FieldGetter, Step
from stockade.detect.fleet import FleetCorrelation
from stockade.model import Priority
from stockade.rules import ast
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.errors import RuleCompileError, RuleSyntaxError
from stockade.rules.evttypes import event_types
from stockade.rules.expand import Expander
from stockade.rules.fields import FIELDS
from stockade.rules.messages import LoadMessage, Origin
from stockade.rules.output import OutputFormat, compile_output
from stockade.rules.parser import parse_condition
from stockade.rules.transformers import ExtractorBuilder
from stockade.yaml_marks import yaml_position

CORRELATIONS_DIR = "correlations"
KEYS = frozenset(
    {"correlation", "desc", "condition", "sequence", "group_by", "distinct", "threshold"}
    | {"window", "suppress", "priority", "output", "tags", "enabled", "scope"}
)
SCOPES = ("host", "fleet")  # host: the agent runs it; fleet: the platform's workers
REQUIRED = ("correlation", "group_by", "window", "priority", "output")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_NS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


@dataclass(slots=True)
class CorrelationSet:
    """Compiled correlations and the problems met loading them."""

    correlations: list[Correlation] = field(default_factory=list)
    errors: list[LoadMessage] = field(default_factory=list)
    fleet: list[FleetCorrelation] = field(default_factory=list)  # `scope: fleet` items


class CorrelationItemError(DetectError):
    """One problem with a correlation item, at a place in its file (collected, not shown)."""

    def __init__(self, code: str, message: str, where: Origin) -> None:
        super().__init__(message)
        self.message = LoadMessage(code, message, where.file, where.line, where.column, where.item)


def correlation_paths(config: DetectorConfig) -> list[Path]:
    """The configured correlation files, else the `correlations/` directory beside each
    rule file (beside Stockade's default rules when no rule files are given)."""
    if config.correlation_paths:
        return list(config.correlation_paths)
    from stockade.rules.default import default_rule_paths

    found: list[Path] = []
    for rules in config.rule_paths or tuple(default_rule_paths()):
        beside = (rules if rules.is_dir() else rules.parent) / CORRELATIONS_DIR
        if beside.is_dir() and beside not in found:
            found.append(beside)
    return found


def load_correlations(paths: Sequence[Path | str]) -> CorrelationSet:
    """Read and compile correlation files (directories: their *.yaml files, sorted)."""
    result = CorrelationSet()
    for raw in paths:
        path = Path(raw)
        files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                msg = f"cannot read correlation file: {e}"
                result.errors.append(LoadMessage("LOAD_ERR_FILE_READ", msg, str(file), 1, 1, ""))
                continue
            loaded = read_correlations(text, str(file))
            result.correlations += loaded.correlations
            result.errors += loaded.errors
            result.fleet += loaded.fleet
    return result


def read_correlations(text: str, file: str) -> CorrelationSet:
    """Compile the correlations of one file's text; never raises on bad content."""
    result = CorrelationSet()
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as e:
        line, col = yaml_position(e) or (1, 1)
        msg = f"invalid YAML: {getattr(e, 'problem', None) or e}"
        result.errors.append(LoadMessage("LOAD_ERR_YAML_PARSE", msg, file, line, col, ""))
        return result
    if root is None:
        return result
    if not isinstance(root, yaml.SequenceNode):
        where = _origin(file, root)
        msg = "a correlation file is a YAML list of correlations"
        result.errors.append(CorrelationItemError("LOAD_ERR_YAML_VALIDATE", msg, where).message)
        return result
    for node in root.value:
        try:
            compiled = _compile_item(loader, node, file)
        except CorrelationItemError as e:
            result.errors.append(e.message)
            continue
        if isinstance(compiled, Correlation):
            result.correlations.append(compiled)
        else:
            result.fleet.append(compiled)
    loader.dispose()
    return result


def _origin(file: str, node: yaml.Node, item: str = "") -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1, item)


def _compile_item(
    loader: yaml.SafeLoader, node: yaml.Node, file: str
) -> Correlation | FleetCorrelation:
    where = _origin(file, node)
    if not isinstance(node, yaml.MappingNode):
        raise CorrelationItemError(
            "LOAD_ERR_YAML_VALIDATE", "each correlation is a YAML mapping", where
        )
    values: dict[str, Any] = {}
    at: dict[str, Origin] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        values[key] = loader.construct_object(value_node, deep=True)
        at[key] = _origin(file, value_node)
    name = values.get("correlation")
    item = f"correlation '{name}'" if isinstance(name, str) else "correlation"
    where = Origin(file, where.line, where.column, item)
    at = {k: Origin(o.file, o.line, o.column, item) for k, o in at.items()}
    scope = values.get("scope", "host")
    if scope not in SCOPES:
        msg = f"'scope' must be one of {', '.join(SCOPES)}, got {scope!r}"
        raise CorrelationItemError("LOAD_ERR_YAML_VALIDATE", msg, at["scope"])
    if scope == "fleet":
        from stockade.detect.fleet_load import FleetItemCompiler  # it builds on this module

        return FleetItemCompiler(values, at, where).compile_fleet()
    return ItemCompiler(values, at, where).compile()


@dataclass(slots=True)
class ItemCompiler:
    """Checks and compiles one correlation item's values, failing at their positions."""

    values: dict[str, Any]
    at: dict[str, Origin]
    where: Origin
    compiler: ConditionCompiler = field(default_factory=lambda: ConditionCompiler(FIELDS))

    def fail(
        self, key: str, message: str, code: str = "LOAD_ERR_YAML_VALIDATE"
    ) -> CorrelationItemError:
        return CorrelationItemError(code, message, self.at.get(key, self.where))

    def compile(self) -> Correlation:
        for key in self.values:
            if key not in KEYS:
                raise self.fail(key, f"unknown key '{key}' (known: {', '.join(sorted(KEYS))})")
        for key in REQUIRED:
            if key not in self.values:
                raise self.fail(key, f"missing key '{key}'")
        is_sequence = "sequence" in self.values
        if is_sequence == ("condition" in self.values):
            raise self.fail("correlation", "give either 'condition' (a count) or 'sequence'")
        steps = (
            self.sequence() if is_sequence else (self.step("condition", self.text("condition")),)
        )
        threshold = 1 if is_sequence else self.positive("threshold")
        window = self.duration("window")
        return Correlation(
            name=self.text("correlation"),
            steps=steps,
            group_by=tuple(self.field_getter("group_by", f) for f in self.names("group_by")),
            window_ns=window,
            threshold=threshold,
            suppress_ns=self.duration("suppress") if "suppress" in self.values else window,
            priority=self.priority(),
            output=self.output(),
            sequence=is_sequence,
            distinct=self.field_getter("distinct", self.text("distinct"))
            if "distinct" in self.values
            else None,
            tags=tuple(self.names("tags")) if "tags" in self.values else (),
            description=str(self.values.get("desc", "")),
            file=self.where.file,
            line=self.where.line,
        )

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"'{key}' must be a non-empty string")
        return value

    def names(self, key: str) -> list[str]:
        value = self.values.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"'{key}' must be a non-empty list of strings")
        return value

    def positive(self, key: str) -> int:
        value = self.values.get(key)
        if key not in self.values:
            raise self.fail(key, f"missing key '{key}'")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(key, f"'{key}' must be a whole number of at least 1, got {value!r}")
        return value

    def duration(self, key: str) -> int:
        value = self.values.get(key)
        found = _DURATION.match(str(value)) if not isinstance(value, bool) else None
        ns = round(float(found.group(1)) * _UNIT_NS[found.group(2) or "s"]) if found else 0
        if ns <= 0:
            raise self.fail(key, f"'{key}' must be a duration like 500ms, 10s, 5m or 1h")
        return ns

    def priority(self) -> Priority:
        try:
            return Priority.parse(str(self.values["priority"]))
        except ValueError as e:
            raise self.fail("priority", str(e)) from None

    def sequence(self) -> tuple[Step, ...]:
        conditions = self.names("sequence")
        if len(conditions) < 2:
            raise self.fail("sequence", "a sequence needs at least two conditions")
        return tuple(self.step("sequence", c) for c in conditions)

    def step(self, key: str, condition: str) -> Step:
        try:
            tree = Expander({}).expand(parse_condition(condition))
            predicate = self.compiler.compile(tree, self.where.item)
        except RuleSyntaxError as e:
            raise self.fail(key, f"condition: {e}", "LOAD_ERR_COMPILE_CONDITION") from None
        except RuleCompileError as e:
            raise self.fail(key, f"condition: {e.message}", e.code) from None
        return Step(condition, predicate, event_types(tree))

    def field_getter(self, key: str, name: str) -> FieldGetter:
        ref = parse_field(name)
        try:
            getter, _, _ = ExtractorBuilder(FIELDS).build(ref)
        except RuleCompileError as e:
            raise self.fail(key, e.message, e.code) from None
        return FieldGetter(name, getter)

    def output(self) -> OutputFormat:
        text = self.text("output").replace("%corr.count", COUNT_MARK)
        try:
            return compile_output(text, FIELDS, source="syscall")
        except RuleCompileError as e:
            raise self.fail("output", e.message, e.code) from None


def parse_field(name: str) -> ast.FieldRef:
    """`proc.aname[2]` -> FieldRef("proc.aname", "2")."""
    head, bracket, rest = name.strip().partition("[")
    return ast.FieldRef(head, rest.rstrip("]") if bracket else None)
