"""Sample events built from a Sigma rule's own detection, for testing the Sigma import.

`sample_terms` walks pySigma's parsed condition (negations pushed down to the leaves)
and yields conjunctions of field literals; `sample_event` turns one conjunction into a
Stockade event whose fields satisfy its positive literals and miss its negative ones.
test_sigma_samples.py checks the generator itself.
"""

from __future__ import annotations

import importlib
import ipaddress
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    SigmaString,
    SpecialChars,
)

from stockade.model import Ancestor, Event, FdInfo, Process

# The regex parser of the standard library: re._parser has no type stubs, and sre_parse
# (which has) is deprecated.
sre: Any = importlib.import_module("re._parser")


@dataclass(frozen=True)
class Literal:
    """One Sigma field check, positive or negated."""

    field: str
    value: object
    positive: bool


Term = tuple[Literal, ...]

DEFAULTS = {
    "Image": "/usr/bin/sample",
    "CommandLine": "sample --run",
    "ParentImage": "/usr/bin/parent",
    "ParentCommandLine": "parent --serve",
    "User": "alice",
    "CurrentDirectory": "/home/alice",
    "LogonId": "1000",
    "TargetFilename": "/home/alice/notes.txt",
    "DestinationIp": "203.0.113.10",
    "DestinationPort": "443",
    "DestinationHostname": "www.example.com",
    "SourceIp": "10.88.0.5",
    "SourcePort": "40000",
    "Initiated": "true",
}
NEUTRAL = {
    **DEFAULTS,
    "Image": "/opt/neutral/zzz",
    "CommandLine": "zzz neutral",
    # auditd record fields ("" holds the keywords of an EXECVE record)
    "": "zzz",
    "a0": "zzz",
    "name": "/var/zzz",
    "exe": "/opt/neutral/zzz",
    "comm": "zzz",
    "SYSCALL": "getpid",
    "type": "USER_LOGIN",
}

_PER_CHILD = 4
_CATEGORY_CLASS = {
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}
_POOL = "a0 x-_/.:=AZ\t"


def sample_terms(node: object, negate: bool = False) -> Iterator[Term]:
    """Conjunctions of literals, any of which satisfies `node` (negated if `negate`)."""
    if isinstance(node, ConditionNOT):
        yield from sample_terms(node.args[0], not negate)
    elif isinstance(node, ConditionAND | ConditionOR):
        if isinstance(node, ConditionAND) != negate:
            options = [
                list(itertools.islice(sample_terms(a, negate), _PER_CHILD)) for a in node.args
            ]
            for combo in itertools.product(*options):
                yield tuple(lit for term in combo for lit in term)
        else:
            for arg in node.args:
                yield from sample_terms(arg, negate)
    elif isinstance(node, ConditionFieldEqualsValueExpression):
        yield (Literal(node.field, node.value, not negate),)
    elif isinstance(node, ConditionValueExpression):  # a keyword: found anywhere
        text = node.value.to_plain() if isinstance(node.value, SigmaString) else str(node.value)
        yield (Literal("", SigmaString(f"*{text}*"), not negate),)
    else:
        raise TypeError(f"cannot sample {type(node).__name__}")


def _class_char(items: list[tuple[Any, Any]]) -> str:  # the parser's untyped output
    op, arg = items[0]
    if op is sre.LITERAL:
        return chr(arg)
    if op is sre.RANGE:
        return chr(arg[0])
    parts: list[str] = []
    for op, arg in items:
        if op is sre.NEGATE:
            parts.insert(0, "^")
        elif op is sre.LITERAL:
            parts.append(re.escape(chr(arg)))
        elif op is sre.RANGE:
            low, high = arg
            parts.append(f"{re.escape(chr(low))}-{re.escape(chr(high))}")
        elif op is sre.CATEGORY:
            parts.append(_CATEGORY_CLASS[arg])
    pattern = "[" + "".join(parts) + "]"
    return next(c for c in _POOL if re.fullmatch(pattern, c))


def _regex_text(seq: Any) -> str:
    out = []
    for op, arg in seq:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append("x" if chr(arg) != "x" else "y")
        elif op is sre.ANY:
            out.append("x")
        elif op is sre.IN:
            out.append(_class_char(arg))
        elif op is sre.CATEGORY:
            out.append(_class_char([(op, arg)]))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, sub = arg
            out.append(_regex_text(sub) * low)
        elif op is sre.SUBPATTERN:
            out.append(_regex_text(arg[-1]))
        elif op is sre.BRANCH:
            out.append(_regex_text(arg[1][0]))
    return "".join(out)


def regex_sample(pattern: str) -> str:
    """A string in which `pattern` can be found (re.search)."""
    return _regex_text(sre.parse(pattern))


def value_matches(text: str, value: object) -> bool:
    """Whether `text` satisfies one Sigma value (case-insensitive for strings)."""
    if isinstance(value, SigmaString):
        pattern = "".join(
            re.escape(p)
            if isinstance(p, str)
            else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
            for p in value.s
        )
        return re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL) is not None
    if isinstance(value, SigmaRegularExpression):
        return re.search(value.regexp.to_plain(), text) is not None
    if isinstance(value, SigmaNumber):
        return text == str(value.number)
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(text) in value.network
        except ValueError:
            return False
    raise TypeError(f"unsupported value {value!r}")


def _chunks(value: SigmaString) -> list[str]:
    text = "".join(
        p if isinstance(p, str) else ("\0" if p is SpecialChars.WILDCARD_MULTI else "x")
        for p in value.s
    )
    return text.split("\0")


def satisfy(values: list[object]) -> str | None:
    """A text satisfying every value, or None."""
    for value in values:
        if isinstance(value, SigmaNumber):
            return str(value.number)
        if isinstance(value, SigmaCIDRExpression):
            return str(next(value.network.hosts(), value.network.network_address))
        if isinstance(value, SigmaString) and not value.contains_special():
            return value.to_plain()
    prefix = suffix = ""
    middle: list[str] = []
    for value in values:
        if isinstance(value, SigmaRegularExpression):
            middle.append(regex_sample(value.regexp.to_plain()))
            continue
        assert isinstance(value, SigmaString)
        chunks = _chunks(value)
        if len(chunks) == 1:
            return chunks[0]
        head, *inner, tail = chunks
        prefix = head if len(head) > len(prefix) else prefix
        suffix = tail if len(tail) > len(suffix) else suffix
        middle.extend(c for c in inner if c)
    # Wildcards around the middle pieces absorb anything, so no padding is needed; a regex
    # sample may be anchored (^...), so it is tried without neighbours first.
    for text in (
        prefix + " ".join(middle) + suffix,
        prefix + " " + " ".join(middle) + " " + suffix,
    ):
        if all(value_matches(text, v) for v in values):
            return text
    return None


def field_values(term: Term, base: dict[str, str] = DEFAULTS) -> dict[str, str] | None:
    """Values of every field satisfying `term`, or None when the term cannot be met."""
    wanted: dict[str, list[object]] = {}
    for lit in term:
        if lit.positive:
            wanted.setdefault(lit.field, []).append(lit.value)
    values = dict(base)
    for name, constraints in wanted.items():
        text = satisfy(constraints)
        if text is None:
            return None
        values[name] = text
    for lit in term:
        if not lit.positive and value_matches(values.get(lit.field, ""), lit.value):
            return None
    return values


def _argv(cmdline: str, exe: str) -> tuple[str, tuple[str, ...]]:
    name, _, rest = cmdline.partition(" ")
    argv = (exe, *rest.split(" ")) if " " in cmdline else (exe,)
    return name or "sample", argv


def _auditd_event(values: dict[str, str]) -> Event:
    record = values.get("type", "EXECVE").upper()
    args = sorted((int(k[1:]), v) for k, v in values.items() if re.fullmatch(r"a\d+", k))
    argv = ["x"] * (max((i for i, _ in args), default=0) + 1)
    argv[0] = "sample"
    for index, text in args:
        argv[index] = text
    if values.get(""):
        argv.extend(values[""].split(" "))
    exe = values.get("exe", "/usr/bin/" + argv[0].rsplit("/", 1)[-1])
    proc = Process(
        pid=4242,
        name=values.get("comm", exe.rsplit("/", 1)[-1])[:15],
        exepath=exe,
        argv=tuple(argv),
        uid=1000,
        euid=1000,
        user="alice",
    )
    event = Event(type="execve", ts=1_000_000_000, proc=proc, seq=1)
    if record == "PATH":
        event.type = "openat"
        event.args = {"flags": "O_WRONLY"}
        event.fd = FdInfo(num=3, type="file", name=values.get("name", "/var/zzz"))
    elif record == "SYSCALL":
        event.type = values.get("SYSCALL", "getpid").lower()
    elif record != "EXECVE":
        event.type = "procexit"
    return event


def sample_event(category: str, values: dict[str, str]) -> Event:
    """A Stockade event of a Sigma log source category carrying `values`."""
    if category == "auditd":
        return _auditd_event(values)
    name, argv = _argv(values["CommandLine"], values["Image"])
    pname, pargv = _argv(values["ParentCommandLine"], values["ParentImage"])
    user = values["User"]
    uid = 0 if user == "root" else 1000
    proc = Process(
        pid=4242,
        ppid=4000,
        name=name,
        exepath=values["Image"],
        argv=argv,
        cwd=values["CurrentDirectory"],
        user=user,
        uid=uid,
        euid=uid,
        loginuid=int(values["LogonId"]),
    )
    parent = Ancestor(pid=4000, name=pname, exepath=values["ParentImage"], argv=pargv)
    base = Event(type="execve", ts=1_000_000_000, proc=proc, ancestors=(parent,), seq=1)
    if category == "file_event":
        base.type = "openat"
        base.args = {"flags": "O_WRONLY|O_CREAT|O_TRUNC"}
        base.fd = FdInfo(num=3, type="file", name=values["TargetFilename"])
    elif category == "network_connection":
        server = values["DestinationIp"]
        family = "ipv6" if ":" in server else "ipv4"
        initiated = values["Initiated"].lower() == "true"
        base.type = "connect" if initiated else "accept4"
        base.fd = FdInfo(
            num=3,
            type=family,
            l4proto="tcp",
            sip=values["SourceIp"],
            sport=int(values["SourcePort"]),
            dip=server,
            dport=int(values["DestinationPort"]),
            is_server=not initiated,
            sip_name=values["DestinationHostname"],
        )
    return base
