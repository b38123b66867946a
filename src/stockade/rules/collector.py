"""Collector stage: raw items to list, macro and rule definitions (define, append, override).

Errors raise `ItemError` with a Falco load code; the loader turns them into messages.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from stockade.model import Priority
from stockade.rules.errors import RulesError
from stockade.rules.messages import LoadMessage, Origin
from stockade.rules.reader import RawItem

_IDENT = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_BARESTR = re.compile(r"[^()\"'\s=,]+")
RULE_KEYS = frozenset(
    {"rule", "condition", "output", "desc", "priority", "source", "enabled", "capture"}
    | {"capture_duration", "warn_evttypes", "skip-if-unknown-filter", "tags", "exceptions"}
    | {"override", "append"}
)
_BAD_LIST_NAME = (
    "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)"
)
_BAD_MACRO_NAME = (
    "Macro has an invalid name. Macro names should match a regular expression: "
    "([a-zA-Z]+[a-zA-Z0-9_]*)"
)
APPENDABLE = ("condition", "output", "desc", "tags", "exceptions")
REPLACEABLE = (
    *APPENDABLE,
    "priority",
    "capture",
    "capture_duration",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
)
ERROR_OVERRIDE_APPEND = (
    "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry "
    "(e.g. 'condition: append') under 'override' instead."
)
WARNING_APPEND = (
    "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') "
    "under 'override' instead."
)


# yaml-cpp's boolean spellings
_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE"), True),
    **dict.fromkeys(("on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE"), False),
    **dict.fromkeys(("off", "Off", "OFF"), False),
}


class ItemError(RulesError):
    """An item cannot be collected; carries the Falco load code."""

    def __init__(self, message: str, code: str = "LOAD_ERR_VALIDATE") -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class ListDef:
    """A list after append/override."""

    name: str
    items: list[str]
    origin: Origin
    index: int = 0  # definition order (kept by redefinitions, as in Falco)
    visibility: int = 0  # order of the last change: earlier lists are visible to it


@dataclass(slots=True)
class MacroDef:
    """A macro after append/override; `mark` is where its condition text starts."""

    name: str
    condition: str
    origin: Origin
    mark: tuple[int, int]
    index: int = 0
    visibility: int = 0  # macros defined before this are visible to its condition


@dataclass(slots=True)
class ExceptionDef:
    """One rule exception: fields, comparison operators and value tuples."""

    name: str
    fields: list[str] | str | None
    comps: list[str] | str | None
    values: list[Any]
    origin: Origin


@dataclass(slots=True)
class RuleDef:
    """A rule after append/override, not compiled yet."""

    name: str
    condition: str
    output: str
    desc: str
    priority: Priority
    origin: Origin
    mark: tuple[int, int]
    source: str = "syscall"
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    exceptions: list[ExceptionDef] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    files: set[str] = field(default_factory=set)


def _scalar(item: RawItem, key: str, kind: type | tuple[type, ...] = str) -> Any:
    if key not in item.data:
        raise ItemError(f"Item has no mapping for key '{key}'", "LOAD_ERR_YAML_VALIDATE")
    value = item.data[key]
    if value is None:
        raise ItemError(f"Mapping for key '{key}' is empty", "LOAD_ERR_YAML_VALIDATE")
    if isinstance(value, list | dict):
        raise ItemError("Value is not a scalar value", "LOAD_ERR_YAML_VALIDATE")
    text = str(value)
    if kind is bool:
        if text not in _BOOLS or item.styles.get(key) in ("'", '"'):
            raise ItemError("Can't decode YAML scalar value", "LOAD_ERR_YAML_VALIDATE")
        return _BOOLS[text]
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ItemError("Can't decode YAML scalar value", "LOAD_ERR_YAML_VALIDATE") from None
    return text


def _string_list(item: RawItem, key: str) -> list[str]:
    value = item.data.get(key)
    if value is None:
        raise ItemError(f"Item has no mapping for key '{key}'", "LOAD_ERR_YAML_VALIDATE")
    if not isinstance(value, list):
        raise ItemError("Value is not a sequence", "LOAD_ERR_YAML_VALIDATE")
    if any(isinstance(v, list | dict) for v in value):
        raise ItemError("sequence value is not scalar", "LOAD_ERR_YAML_VALIDATE")
    return ["" if v is None else str(v) for v in value]


def _priority(item: RawItem) -> Priority:
    try:
        return Priority.parse(_scalar(item, "priority"))
    except ValueError:
        raise ItemError("Invalid priority", "LOAD_ERR_YAML_VALIDATE") from None


def _overrides(
    item: RawItem, appendable: tuple[str, ...], replaceable: tuple[str, ...]
) -> tuple[set[str], set[str]]:
    raw = item.data.get("override")
    if raw is None:
        return set(), set()
    if not isinstance(raw, dict):
        raise ItemError("Value is not a map", "LOAD_ERR_YAML_VALIDATE")
    append, replace = set(), set()
    for key, op in raw.items():
        if op == "append":
            if key not in appendable:
                raise ItemError(
                    f"Key '{key}' cannot be appended to, use 'replace' instead",
                    "LOAD_ERR_YAML_VALIDATE",
                )
            append.add(key)
        elif op == "replace":
            if key not in replaceable:
                raise ItemError(f"Key '{key}' cannot be replaced", "LOAD_ERR_YAML_VALIDATE")
            replace.add(key)
        else:
            raise ItemError(
                f"Invalid override operation for key '{key}': '{op}'. "
                "Allowed values are: append, replace",
                "LOAD_ERR_YAML_VALIDATE",
            )
    return append, replace


def decode_exceptions(
    item: RawItem, append: bool, warnings: list[LoadMessage]
) -> list[ExceptionDef]:
    """The `exceptions` of a rule item (fields are optional when appending)."""
    raw = item.data.get("exceptions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemError("Rule exceptions must be a sequence", "LOAD_ERR_YAML_VALIDATE")
    result: list[ExceptionDef] = []
    for ex in raw:
        if not isinstance(ex, dict):
            raise ItemError("Rule exception must be a mapping", "LOAD_ERR_YAML_VALIDATE")
        name = ex.get("name")
        if name is None or name == "":
            raise ItemError("Item has no mapping for key 'name'", "LOAD_ERR_YAML_VALIDATE")
        origin = Origin(
            item.origin.file, item.origin.line, item.origin.column, f"exception '{name}'"
        )
        if any(e.name == name for e in result):
            warnings.append(
                origin.message(
                    "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
                    f"Multiple definitions of exception '{name}' in the same rule",
                )
            )
        fields = ex.get("fields")
        if fields is None and not append:
            raise ItemError("Item has no mapping for key 'fields'", "LOAD_ERR_YAML_VALIDATE")
        values = ex.get("values")
        if values is None:
            if append:
                warnings.append(
                    origin.message(
                        "LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values"
                    )
                )
            values = []
        elif not isinstance(values, list):
            raise ItemError("Rule exception values must be a sequence", "LOAD_ERR_YAML_VALIDATE")
        result.append(ExceptionDef(str(name), fields, ex.get("comps"), values, origin))
    return result


class Collector:
    """Holds lists, macros and rules in definition order and applies each item."""

    def __init__(self) -> None:
        self.lists: dict[str, ListDef] = {}
        self.macros: dict[str, MacroDef] = {}
        self.rules: dict[str, RuleDef] = {}
        self.required_engine: tuple[int, int, int] = (0, 0, 0)
        self.plugins: list[list[tuple[str, str]]] = []
        self.counter = 0

    def tick(self) -> int:
        """The next definition-order number."""
        self.counter += 1
        return self.counter

    def snapshot(self) -> Collector:
        """A deep copy, to restore when a file is refused."""
        return copy.deepcopy(self)

    def apply_list(self, item: RawItem, warnings: list[LoadMessage]) -> None:
        """Define or append a list."""
        name = _scalar(item, "list")
        if not _BARESTR.fullmatch(name):
            warnings.append(
                item.origin.message(
                    "LOAD_INVALID_LIST_NAME",
                    _BAD_LIST_NAME,
                )
            )
        items = _string_list(item, "items")
        append = self._append_flag(item, warnings)
        o_append, o_replace = _overrides(item, ("items",), ("items",))
        if append and (o_append or o_replace):
            raise ItemError(ERROR_OVERRIDE_APPEND)
        if append or "items" in o_append:
            prev = self.lists.get(name)
            if prev is None:
                raise ItemError(
                    "List has 'append' key or an append override "
                    "but no list by that name already exists"
                )
            prev.items.extend(items)
            prev.visibility = self.tick()
        else:
            prev = self.lists.get(name)
            index = self.tick() if prev is None else prev.index
            self.lists[name] = ListDef(name, items, item.origin, index, self.tick())
        self._unknown_keys(item, {"list", "items", "append", "override"}, warnings)

    def apply_macro(self, item: RawItem, warnings: list[LoadMessage]) -> None:
        """Define or append a macro."""
        name = _scalar(item, "macro")
        if not _IDENT.fullmatch(name):
            warnings.append(
                item.origin.message(
                    "LOAD_INVALID_MACRO_NAME",
                    _BAD_MACRO_NAME,
                )
            )
        condition = _scalar(item, "condition")
        append = self._append_flag(item, warnings)
        o_append, o_replace = _overrides(item, ("condition",), ("condition",))
        if append and (o_append or o_replace):
            raise ItemError(ERROR_OVERRIDE_APPEND)
        if append or "condition" in o_append:
            prev = self.macros.get(name)
            if prev is None:
                raise ItemError(
                    "Macro has 'append' key or an append override "
                    "but no macro by that name already exists"
                )
            prev.condition += " " + condition
            prev.visibility = self.tick()
        else:
            known = self.macros.get(name)
            index = self.tick() if known is None else known.index
            mark = item.marks["condition"]
            self.macros[name] = MacroDef(name, condition, item.origin, mark, index, self.tick())
        self._unknown_keys(item, {"macro", "condition", "append", "override"}, warnings)

    def _append_flag(self, item: RawItem, warnings: list[LoadMessage]) -> bool:
        if "append" not in item.data:
            return False
        flag = _scalar(item, "append", bool)
        if flag:
            warnings.append(item.origin.message("LOAD_DEPRECATED_ITEM", WARNING_APPEND))
        return bool(flag)

    def _unknown_keys(
        self, item: RawItem, expected: set[str] | frozenset[str], warnings: list[LoadMessage]
    ) -> None:
        warnings.extend(
            item.origin.message(
                "LOAD_UNKNOWN_KEY", f"Unknown key '{key}'. The key will be ignored."
            )
            for key in item.data
            if key not in expected
        )

    def find_rule(self, name: str, source: str) -> RuleDef | None:
        """The earlier rule called `name`; refuses a redefinition with another source."""
        prev = self.rules.get(name)
        if prev is not None and prev.source and source and prev.source != source:
            raise ItemError("Rule has been re-defined with a different source")
        return prev
