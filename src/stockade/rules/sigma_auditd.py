"""Sigma rules of the `auditd` log source service, where audit record fields map to Falco's.

An audit rule's selection names the record type it matches (`type: EXECVE`, `PATH`,
`SYSCALL`) and that record's fields:

    EXECVE  a0 -> proc.exe (argv[0]), aN -> proc.args[N-1], keywords -> proc.exeline
    PATH    name -> fs.path.name, on events that name a path
    SYSCALL SYSCALL -> evt.type, exe -> proc.exepath, comm -> proc.name, (e)uid -> user.uid

Anything else (other record types, audit rule keys, raw syscall arguments of SYSCALL
records) is refused with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression
from sigma.types import SigmaString, SpecialChars

from stockade.rules.sigma_condition import (
    ConditionTranslator,
    FieldMap,
    SigmaUnsupportedError,
    quote,
    value_check,
)

EXECVE_EVENTS = "evt.type in (execve, execveat) and evt.rawres = 0"
PATH_EVENTS = (
    "evt.type in (open, openat, openat2, creat, unlink, unlinkat, mkdir, mkdirat, rmdir, "
    "chmod, fchmodat, chown, fchownat, lchown, symlink, symlinkat)"
)
_RECORD_EVENTS = {"EXECVE": EXECVE_EVENTS, "PATH": PATH_EVENTS}

_ANY_RECORD: Mapping[str, FieldMap] = {
    "exe": FieldMap("proc.exepath"),
    "comm": FieldMap("proc.name"),
    "cwd": FieldMap("proc.cwd"),
    "uid": FieldMap("user.uid", "num"),
    "euid": FieldMap("user.uid", "num"),
    "auid": FieldMap("user.loginuid", "num"),
}
_ARG = re.compile(r"a(\d+)")


def _record_of(node: ConditionAND) -> str | None:
    for arg in node.args:
        if (
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and arg.field == "type"
            and isinstance(arg.value, SigmaString)
        ):
            return arg.value.to_plain().upper()
    return None


class AuditdTranslator(ConditionTranslator):
    """Translates detections over Linux audit records into Falco conditions."""

    def __init__(self) -> None:
        self.category = "auditd"
        self._records: list[str | None] = [None]
        self._typed = False
        self._execve_fields = False

    def rule_condition(self, parsed: Sequence[object]) -> str:
        """The rule's condition; untyped EXECVE-only detections get EXECVE's event types."""
        detection = self.detection(parsed)
        if self._typed:
            return detection
        if self._execve_fields:
            return f"{EXECVE_EVENTS} and {detection}"
        raise SigmaUnsupportedError("the detection names no audit record type (type: ...)")

    def translate(self, node: object) -> str:
        """Track the record type an AND-ed selection names while translating it."""
        if not isinstance(node, ConditionAND):
            return super().translate(node)
        record = _record_of(node)
        if record == "SYSCALL" and not any(
            isinstance(a, ConditionFieldEqualsValueExpression) and a.field == "SYSCALL"
            for a in node.args
        ):
            raise SigmaUnsupportedError(
                "a SYSCALL record selection without a SYSCALL name would match every system "
                "call of the process"
            )
        self._records.append(record or self._records[-1])
        try:
            return super().translate(node)
        finally:
            self._records.pop()

    def keyword_check(self, value: object) -> str:
        """Keywords of EXECVE records search the whole command line."""
        self._require_execve("keyword search")
        if isinstance(value, SigmaString):
            if value.contains_special():
                return value_check(FieldMap("proc.exeline"), "keyword", _wrapped(value))
            return f"proc.exeline icontains {quote(value.to_plain())}"
        return f"proc.exeline icontains {quote(str(getattr(value, 'number', value)))}"

    def field_check(self, sigma_field: str, value: object) -> str:
        """Map one audit record field."""
        if sigma_field == "type":
            return self._type_check(value)
        arg = _ARG.fullmatch(sigma_field)
        if arg:
            self._require_execve(f"field {sigma_field}")
            index = int(arg.group(1))
            target = "proc.exe" if index == 0 else f"proc.args[{index - 1}]"
            return value_check(FieldMap(target), sigma_field, value)
        if sigma_field == "name":
            if self._records[-1] != "PATH":
                raise SigmaUnsupportedError("field 'name' is only mapped for PATH records")
            return value_check(FieldMap("fs.path.name"), sigma_field, value)
        if sigma_field == "SYSCALL":
            if not isinstance(value, SigmaString) or value.contains_special():
                raise SigmaUnsupportedError("SYSCALL needs a plain syscall name")
            self._typed = True
            return f"evt.type = {value.to_plain().lower()}"
        mapping = _ANY_RECORD.get(sigma_field)
        if mapping is None:
            raise SigmaUnsupportedError(
                f"audit field {sigma_field!r} has no Falco equivalent "
                f"(mapped: type, a0..aN, keywords, name, SYSCALL, {', '.join(_ANY_RECORD)})"
            )
        return value_check(mapping, sigma_field, value)

    def _type_check(self, value: object) -> str:
        record = value.to_plain().upper() if isinstance(value, SigmaString) else str(value)
        if record == "SYSCALL":
            # The SYSCALL field of the same selection gives the event type.
            return 'evt.dir = "<"'
        events = _RECORD_EVENTS.get(record)
        if events is None:
            raise SigmaUnsupportedError(
                f"audit record type {record!r} has no Stockade event "
                "(mapped: EXECVE, PATH, SYSCALL with a SYSCALL name)"
            )
        self._typed = True
        return f"({events})"

    def _require_execve(self, what: str) -> None:
        record = self._records[-1]
        if record not in (None, "EXECVE"):
            raise SigmaUnsupportedError(f"{what} of {record} records is not available")
        self._execve_fields = True


def _wrapped(value: SigmaString) -> SigmaString:
    parts = list(value.s)
    if parts[:1] != [SpecialChars.WILDCARD_MULTI]:
        parts.insert(0, SpecialChars.WILDCARD_MULTI)
    if parts[-1:] != [SpecialChars.WILDCARD_MULTI]:
        parts.append(SpecialChars.WILDCARD_MULTI)
    wrapped = SigmaString("")
    wrapped.s = parts
    return wrapped
