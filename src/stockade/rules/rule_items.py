"""Collector stage for rule items: define, enable, `append: true` and `override`."""

from __future__ import annotations

from typing import Any

from stockade.rules.collector import (
    APPENDABLE,
    ERROR_OVERRIDE_APPEND,
    REPLACEABLE,
    RULE_KEYS,
    WARNING_APPEND,
    Collector,
    ExceptionDef,
    ItemError,
    RuleDef,
    _overrides,
    _priority,
    _scalar,
    decode_exceptions,
)
from stockade.rules.messages import LoadMessage
from stockade.rules.reader import RawItem

WARNING_ENABLED = (
    "The standalone 'enabled' key usage is deprecated. The correct approach requires also "
    "a 'replace' entry under the 'override' key (i.e. 'enabled: replace')."
)
_BOOL_KEYS = ("enabled", "capture", "warn_evttypes", "skip-if-unknown-filter")


def _tags(item: RawItem) -> list[str]:
    raw = item.data.get("tags")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemError("Value is not a sequence", "LOAD_ERR_YAML_VALIDATE")
    return [str(t) for t in raw]


def _source(item: RawItem) -> str:
    raw = item.data.get("source")
    return "" if raw is None else str(raw)


def _read_updates(
    item: RawItem, keys: set[str], append: bool, warnings: list[LoadMessage]
) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for key in keys:
        if key == "tags":
            updates[key] = _tags(item)
        elif key == "exceptions":
            updates[key] = decode_exceptions(item, append, warnings)
        elif key == "priority":
            updates[key] = _priority(item)
        elif key in _BOOL_KEYS:
            updates[key] = _scalar(item, key, bool)
        elif key == "capture_duration":
            updates[key] = _scalar(item, key, int)
        else:
            updates[key] = _scalar(item, key)
    return updates


def apply_rule(c: Collector, item: RawItem, warnings: list[LoadMessage]) -> None:
    """Apply one rule item to the collector."""
    name = _scalar(item, "rule")
    source = _source(item)
    has_append = False
    if "append" in item.data:
        has_append = bool(_scalar(item, "append", bool))
        if has_append:
            warnings.append(item.origin.message("LOAD_DEPRECATED_ITEM", WARNING_APPEND))
    o_append, o_replace = _overrides(item, APPENDABLE, REPLACEABLE)
    if has_append and (o_append or o_replace):
        raise ItemError(ERROR_OVERRIDE_APPEND)
    if o_append or o_replace:
        _apply_overrides(c, item, name, source, o_append, o_replace, warnings)
    elif has_append:
        _append(
            c,
            name,
            source,
            item,
            _read_updates(
                item, {k for k in ("condition", "exceptions") if k in item.data}, True, warnings
            ),
        )
    elif not any(k in item.data for k in ("condition", "output", "desc", "priority")):
        enabled = _scalar(item, "enabled", bool)
        warnings.append(item.origin.message("LOAD_DEPRECATED_ITEM", WARNING_ENABLED))
        prev = c.rules.get(name)
        if prev is None:
            raise ItemError("Rule has 'enabled' key but no rule by that name already exists")
        prev.enabled = enabled
    else:
        _define(c, name, item, warnings)
    warnings.extend(
        item.origin.message("LOAD_UNKNOWN_KEY", f"Unknown key '{key}'. The key will be ignored.")
        for key in item.data
        if key not in RULE_KEYS
    )


def _define(c: Collector, name: str, item: RawItem, warnings: list[LoadMessage]) -> None:
    condition = _scalar(item, "condition")
    output = _scalar(item, "output").strip()
    desc = _scalar(item, "desc")
    priority = _priority(item)
    source = _scalar(item, "source") if "source" in item.data else "syscall"
    rule = RuleDef(
        name, condition, output, desc, priority, item.origin, item.marks["condition"], source=source
    )
    for key, attr in (
        ("enabled", "enabled"),
        ("warn_evttypes", "warn_evttypes"),
        ("skip-if-unknown-filter", "skip_if_unknown_filter"),
    ):
        if key in item.data:
            setattr(rule, attr, _scalar(item, key, bool))
    if "capture" in item.data:
        _scalar(item, "capture", bool)
    if "capture_duration" in item.data:
        _scalar(item, "capture_duration", int)
    rule.tags = _tags(item)
    rule.exceptions = decode_exceptions(item, False, warnings)
    for ex in rule.exceptions:
        if ex.fields is None:
            raise ItemError("Rule exception item must have fields property with a list of fields")
    c.find_rule(name, source)
    rule.files.add(item.origin.file)
    c.rules[name] = rule  # a redefinition keeps the rule's place in the order


def _append(c: Collector, name: str, source: str, item: RawItem, updates: dict[str, Any]) -> None:
    prev = c.find_rule(name, source)
    if prev is None:
        raise ItemError(
            "Rule has 'append' key or an append override but no rule by that name already exists"
        )
    if not updates:
        raise ItemError("Appended rule must have exceptions or condition property")
    if updates.get("condition"):
        prev.condition += " " + updates["condition"]
    if updates.get("output"):
        prev.output += " " + updates["output"]
    if updates.get("desc"):
        prev.desc += " " + updates["desc"]
    for tag in updates.get("tags", []):
        if tag not in prev.tags:
            prev.tags.append(tag)
    for ex in updates.get("exceptions", []):
        _append_exception(prev, ex)
    prev.files.add(item.origin.file)


def _append_exception(rule: RuleDef, ex: ExceptionDef) -> None:
    existing = next((e for e in rule.exceptions if e.name == ex.name), None)
    if existing is None:
        if ex.fields is None:
            raise ItemError("Rule exception must have fields property with a list of fields")
        if not ex.values:
            raise ItemError("Rule exception must have values property with a list of values")
        rule.exceptions.append(ex)
        return
    if ex.fields is not None:
        raise ItemError("Can not append exception fields to existing exception, only values")
    if ex.comps is not None:
        raise ItemError("Can not append exception comps to existing exception, only values")
    existing.values.extend(ex.values)


def _apply_overrides(
    c: Collector,
    item: RawItem,
    name: str,
    source: str,
    o_append: set[str],
    o_replace: set[str],
    warnings: list[LoadMessage],
) -> None:
    expected = {k for k in REPLACEABLE if k in item.data}
    for op, keys in (("append", o_append), ("replace", o_replace)):
        for key in keys:
            if key not in expected:
                raise ItemError(
                    f"An {op} override for '{key}' was specified but '{key}' is not defined"
                )
            expected.discard(key)
    if o_append:
        _append(c, name, source, item, _read_updates(item, o_append, True, warnings))
    if o_replace:
        prev = c.find_rule(name, source)
        if prev is None:
            raise ItemError(
                "An replace to a rule was requested but no rule by that name already exists"
            )
        updates = _read_updates(item, o_replace, False, warnings)
        for key, value in updates.items():
            attr = {"skip-if-unknown-filter": "skip_if_unknown_filter"}.get(key, key)
            if key in ("capture", "capture_duration"):
                continue
            if key == "condition":
                prev.mark = item.marks["condition"]
            setattr(prev, attr, value)
        prev.files.add(item.origin.file)
    for key in expected:
        raise ItemError(
            f"Unexpected key '{key}': no corresponding entry under 'override' is defined."
        )
