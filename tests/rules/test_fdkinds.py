"""The descriptor kinds a condition can match: a superset, never too narrow."""

from __future__ import annotations

import pytest

from stockade.rules.fdkinds import fd_kinds, fd_kinds_for
from stockade.rules.parser import parse_condition

CASES = [
    ("fd.typechar = 4 or fd.typechar = 6", frozenset("46")),
    ("evt.type = write and (fd.typechar = 4 or fd.typechar = 6)", frozenset("46")),
    ("fd.type in (ipv4, ipv6, unix)", frozenset("46u")),
    ("fd.sockfamily = ip and fd.sport = 22", frozenset("46")),
    ("fd.typechar = f and fd.typechar = p", frozenset()),
    ("not fd.typechar != p", frozenset("p")),
    ("not (fd.typechar = p or fd.typechar = f)", None),  # a complement: any kind
    ("fd.typechar = 4 or proc.name = nc", None),
    ("proc.name = nc", None),
    ("fd.typechar != f", None),
    ("fd.type = pipe and not fd.name = x", frozenset("p")),
]


@pytest.mark.parametrize(("condition", "kinds"), CASES, ids=[c for c, _ in CASES])
def test_kinds_of_a_condition(condition: str, kinds: frozenset[str] | None) -> None:
    assert fd_kinds(parse_condition(condition)) == kinds


def test_checks_of_other_event_types_do_not_count() -> None:
    tree = parse_condition("(evt.type = write and fd.typechar = 4) or evt.type = read")
    assert fd_kinds_for(tree, "write") == frozenset("4")
    assert fd_kinds_for(tree, "read") is None
