"""Translation of a parsed Sigma detection into Falco condition text.

pySigma resolves the detection (selections, `1 of`/`all of`, modifiers such as
contains/startswith/endswith/all/windash/re/cidr) into a tree of AND/OR/NOT nodes over
field = value leaves; this module maps each leaf to a Falco field and operator. Sigma
string matching is case-insensitive, so strings become `icontains` (pure substring) or
`iglob` (every other shape, wildcards kept); regular expressions become `regex`, case-
sensitive as in Sigma unless the rule says `re|i`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCIDRExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from stockade.rules.errors import RulesError


class SigmaUnsupportedError(RulesError):
    """A Sigma rule uses something Stockade cannot express in a Falco condition."""


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where one Sigma field goes: a Falco string/number field and, for IPs, a net field."""

    field: str
    kind: Literal["str", "num", "ip"] = "str"
    net_field: str = ""  # used for the `cidr` modifier (an IPNET field such as fd.snet)


_PROCESS = {
    "Image": FieldMap("proc.exepath"),
    "CommandLine": FieldMap("proc.cmdline"),
    "ParentImage": FieldMap("proc.pexepath"),
    "ParentCommandLine": FieldMap("proc.pcmdline"),
    "User": FieldMap("user.name"),
    "CurrentDirectory": FieldMap("proc.cwd"),
    "LogonId": FieldMap("user.loginuid", kind="num"),
    "ProcessId": FieldMap("proc.pid", kind="num"),
    "ParentProcessId": FieldMap("proc.ppid", kind="num"),
}

# Falco's fd.sip is the server side: the destination of a connect and, for an accepted
# connection, the local address that was connected to; Sysmon's Destination* is the same.
_NETWORK = {
    "DestinationIp": FieldMap("fd.sip", "ip", net_field="fd.snet"),
    "DestinationPort": FieldMap("fd.sport", kind="num"),
    "DestinationHostname": FieldMap("fd.sip.name"),
    "SourceIp": FieldMap("fd.cip", "ip", net_field="fd.cnet"),
    "SourcePort": FieldMap("fd.cport", kind="num"),
}

FIELD_MAPS: Mapping[str, Mapping[str, FieldMap]] = {
    "process_creation": _PROCESS,
    "file_event": {**_PROCESS, "TargetFilename": FieldMap("fd.name")},
    "network_connection": {**_PROCESS, **_NETWORK},
}

# Falco conditions restricting each Sigma category to the (successful) events it describes.
CATEGORY_EVENTS: Mapping[str, str] = {
    "process_creation": "evt.type in (execve, execveat) and evt.rawres = 0",
    "file_event": (
        "(evt.type = creat or (evt.type in (open, openat, openat2) and evt.is_open_write = true))"
        " and evt.rawres >= 0"
    ),
    "network_connection": (
        "evt.type in (connect, accept, accept4) and (fd.typechar = 4 or fd.typechar = 6)"
        " and (evt.rawres >= 0 or evt.res = EINPROGRESS)"
    ),
}

# Fields Stockade's events never carry yet; a rule needing one could never match.
UNAVAILABLE_FIELDS: Mapping[str, str] = {}

_INITIATED = {"true": "evt.type = connect", "false": "evt.type in (accept, accept4)"}


def quote(value: str) -> str:
    """A Falco double-quoted string literal holding `value` verbatim."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def _glob_literal(text: str) -> str:
    # fnmatch-style glob: a bracket holding one character stands for that character.
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _string_check(field: str, value: SigmaString) -> str:
    parts = value.s
    inner = parts[1:-1] if len(parts) >= 2 else ()
    if (
        len(parts) == 3
        and parts[0] is SpecialChars.WILDCARD_MULTI
        and parts[-1] is SpecialChars.WILDCARD_MULTI
        and isinstance(parts[1], str)
        and not any(isinstance(p, SpecialChars) for p in inner)
    ):
        return f"{field} icontains {quote(parts[1])}"
    pattern = "".join(
        _glob_literal(p)
        if isinstance(p, str)
        else ("*" if p is SpecialChars.WILDCARD_MULTI else "?")
        for p in parts
    )
    return f"{field} iglob {quote(pattern)}"


_INLINE_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _regex_check(field: str, value: SigmaRegularExpression) -> str:
    # Sigma's regex searches; the engine's `regex` (like Falco's) must match the whole
    # value, so the pattern is wrapped in `.*(?:...).*` with DOTALL.
    pattern = value.regexp.to_plain()
    inline = set("s")
    leading = _INLINE_FLAGS.match(pattern)
    if leading:
        inline.update(leading.group(1))
        pattern = pattern[leading.end() :]
    wanted = {
        SigmaRegularExpressionFlag.IGNORECASE: "i",
        SigmaRegularExpressionFlag.MULTILINE: "m",
        SigmaRegularExpressionFlag.DOTALL: "s",
    }
    inline.update(flag for key, flag in wanted.items() if key in value.flags)
    flags = "".join(sorted(inline))
    return f"{field} regex {quote(f'(?{flags}).*(?:{pattern}).*')}"


class ConditionTranslator:
    """Turns pySigma condition trees of one log source category into Falco condition text."""

    def __init__(self, category: str) -> None:
        if category not in CATEGORY_EVENTS:
            known = ", ".join(sorted(CATEGORY_EVENTS))
            raise SigmaUnsupportedError(
                f"log source category {category!r} is not supported (supported: {known})"
            )
        self.category = category

    def rule_condition(self, parsed: Sequence[object]) -> str:
        """The full Falco condition of a rule: its category's events and its detection."""
        return f"{CATEGORY_EVENTS[self.category]} and {self.detection(parsed)}"

    def detection(self, parsed: Sequence[object]) -> str:
        """The detection alone; several Sigma conditions are alternatives."""
        conditions = [self.translate(node) for node in parsed]
        return conditions[0] if len(conditions) == 1 else "(" + " or ".join(conditions) + ")"

    def translate(self, node: object) -> str:
        """The Falco condition for `node` (a pySigma parsed condition)."""
        if isinstance(node, ConditionAND | ConditionOR):
            joiner = " and " if isinstance(node, ConditionAND) else " or "
            return "(" + joiner.join(self.translate(arg) for arg in node.args) + ")"
        if isinstance(node, ConditionNOT):
            return f"not {self.translate(node.args[0])}"
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self.field_check(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self.keyword_check(node.value)
        raise SigmaUnsupportedError(f"unsupported condition element {type(node).__name__}")

    def keyword_check(self, value: object) -> str:
        """A field-less (keyword) search; no field holds a whole log line here."""
        text = value.to_plain() if isinstance(value, SigmaString) else str(value)
        raise SigmaUnsupportedError(
            f"keyword (field-less) search {text!r} is not supported in category "
            f"{self.category}: no Falco field holds the whole raw log line"
        )

    def field_check(self, sigma_field: str, value: object) -> str:
        """The check of one Sigma field against one value."""
        if sigma_field == "Initiated" and self.category == "network_connection":
            text = str(getattr(value, "to_plain", lambda: value)()).lower()
            if text not in _INITIATED:
                raise SigmaUnsupportedError(f"Initiated must be true or false, not {text!r}")
            return _INITIATED[text]
        fields = FIELD_MAPS.get(self.category, {})
        mapping = fields.get(sigma_field)
        if mapping is None:
            known = ", ".join(sorted(fields))
            raise SigmaUnsupportedError(
                f"field {sigma_field!r} has no Falco equivalent in category {self.category} "
                f"(mapped fields: {known})"
            )
        missing = UNAVAILABLE_FIELDS.get(mapping.field)
        if missing:
            raise SigmaUnsupportedError(f"field {sigma_field!r} maps to {mapping.field}: {missing}")
        return value_check(mapping, sigma_field, value)


def value_check(mapping: FieldMap, sigma_field: str, value: object) -> str:
    """The Falco check of `mapping`'s field against one Sigma value."""
    if isinstance(value, SigmaString):
        return _str_check(mapping, value)
    if isinstance(value, SigmaRegularExpression):
        return _regex_check(mapping.field, value)
    if isinstance(value, SigmaNumber):
        if mapping.kind == "str":
            return f"{mapping.field} = {quote(str(value.number))}"
        return f"{mapping.field} = {value.number}"
    if isinstance(value, SigmaCIDRExpression):
        if not mapping.net_field:
            raise SigmaUnsupportedError(f"the cidr modifier does not apply to {sigma_field}")
        return f"{mapping.net_field} = {quote(str(value.network))}"
    raise SigmaUnsupportedError(
        f"value type {type(value).__name__} of field {sigma_field!r} is not supported"
    )


def _str_check(mapping: FieldMap, value: SigmaString) -> str:
    if mapping.kind == "str":
        return _string_check(mapping.field, value)
    if value.contains_special():
        raise SigmaUnsupportedError(f"wildcards are not supported on {mapping.field}")
    plain = value.to_plain()
    if mapping.kind == "ip":
        return f"{mapping.field} = {quote(plain)}"
    if plain.lstrip("-").isdigit():
        return f"{mapping.field} = {int(plain)}"
    raise SigmaUnsupportedError(f"{mapping.field} needs a number, not {plain!r}")
