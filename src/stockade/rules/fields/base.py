"""The field table's building blocks: field types, definitions and the table itself."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from stockade.model import Event
from stockade.rules.errors import RuleCompileError

Extractor = Callable[[Event], Any]
"""Reads one field from an event; returns None when the value is not available."""


class FieldType(enum.StrEnum):
    """Falco's field types; they decide which operators apply and how values parse."""

    STRING = "string"
    INT64 = "int64"
    UINT64 = "uint64"
    BOOL = "bool"
    IPADDR = "ipaddr"
    IPNET = "ipnet"
    PORT = "port"
    ABSTIME = "abstime"
    RELTIME = "reltime"
    LIST = "list"
    DOUBLE = "double"

    @property
    def numeric(self) -> bool:
        """True for the integer-like types."""
        return self in _NUMERIC


_NUMERIC = frozenset(
    {FieldType.INT64, FieldType.UINT64, FieldType.PORT, FieldType.ABSTIME, FieldType.RELTIME}
    | {FieldType.DOUBLE}
)


class ArgKind(enum.Enum):
    """Whether a field takes an argument (`proc.aname[2]`, `proc.env[HOME]`)."""

    NONE = "none"
    INDEX = "index"  # an integer
    KEY = "key"  # a string
    OPTIONAL_INDEX = "optional index"
    OPTIONAL_KEY = "optional key"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field: its name, type, description and how to build its extractor."""

    name: str
    type: FieldType
    description: str
    bind: Callable[[str | None], Extractor]
    arg: ArgKind = ArgKind.NONE
    dotted: bool = False  # accepts `name.KEY` as well as `name[KEY]`
    multi: bool = False  # without an argument, yields every value (checks match any)
    deprecated: bool = False
    inline: str = ""  # a Python expression over `e` ({i}: index - 1) the compiler may inline
    cheap: bool = False  # the inline expression is cheap enough to repeat (no memo)
    key_type: Callable[[str], FieldType] | None = None  # a type per KEY (Falco's DYNAMIC)

    def inline_for(self, arg: str | None) -> str:
        """The inline expression for this field with `arg`, or "" when there is none."""
        if not self.inline or (arg is None) != (self.arg is ArgKind.NONE):
            return ""
        if arg is None:
            return self.inline
        index = int(arg)
        return self.inline.format(i=index - 1) if index > 0 else ""

    def extractor(self, arg: str | None) -> Extractor:
        """The extractor for this field with `arg`; validates the argument."""
        needs = self.arg in (ArgKind.INDEX, ArgKind.KEY)
        if arg is None and needs:
            raise RuleCompileError(f"field '{self.name}' requires an argument")
        if arg is not None and self.arg is ArgKind.NONE:
            raise RuleCompileError(f"field '{self.name}' does not take an argument")
        indexed = self.arg in (ArgKind.INDEX, ArgKind.OPTIONAL_INDEX)
        if arg is not None and indexed and not arg.isdigit():
            raise RuleCompileError(f"field '{self.name}' needs a numeric argument, got {arg!r}")
        return self.bind(arg)

    def is_multi(self, arg: str | None) -> bool:
        """True when the bound field yields several values (any of them may match)."""
        return self.type is FieldType.LIST or (self.multi and arg is None)


class FieldTable:
    """Every known field by name; refuses duplicates."""

    def __init__(self) -> None:
        self._fields: dict[str, FieldDef] = {}

    def add(self, field: FieldDef) -> FieldDef:
        """Register a field; a second field with the same name is an error."""
        if field.name in self._fields:
            raise ValueError(f"field {field.name!r} is already defined")
        self._fields[field.name] = field
        return field

    def lookup(self, name: str, arg: str | None) -> tuple[FieldDef, str | None]:
        """The field for `name` (and `name.KEY` forms) with its effective argument."""
        found = self._fields.get(name)
        if found is not None:
            return _typed(found, arg), arg
        head, _, key = name.rpartition(".")
        while head:
            found = self._fields.get(head)
            if found is not None and found.dotted and arg is None:
                return _typed(found, key), key
            head, _, rest = head.rpartition(".")
            key = f"{rest}.{key}"
        raise RuleCompileError(
            f"filter_check called with nonexistent field {name}", "LOAD_UNKNOWN_FIELD"
        )

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[FieldDef]:
        return iter(self._fields.values())


def _typed(field: FieldDef, key: str | None) -> FieldDef:
    """`field` with the type its KEY gives it, for fields whose type depends on the key."""
    if field.key_type is None or key is None:
        return field
    ftype = field.key_type(key)
    return field if ftype is field.type else dataclasses.replace(field, type=ftype)


INLINE_HELPERS: dict[str, Any] = {}
"""Names that inline field expressions may use (added to the generated code's namespace)."""


def simple(
    table: FieldTable,
    name: str,
    ftype: FieldType,
    desc: str,
    fn: Extractor,
    *,
    inline: str = "",
    cheap: bool = False,
) -> None:
    """Register a field without an argument."""
    table.add(FieldDef(name, ftype, desc, lambda _arg: fn, inline=inline, cheap=cheap))


def on_fd(attr: str) -> Extractor:
    """An extractor reading one FdInfo attribute; None when the event has no fd."""

    def extract(e: Event) -> Any:
        fd = e.fd
        return None if fd is None else getattr(fd, attr)

    return extract
