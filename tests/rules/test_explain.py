"""Explaining evaluation and condition unparsing."""

from __future__ import annotations

import pytest

from stockade.model import Event, FdInfo, Process
from stockade.rules import load_rules, parse_condition
from stockade.rules.explain import explain_event
from stockade.rules.unparse import unparse

RULES = """
- macro: opened
  condition: evt.type = openat and fd.num >= 0
- rule: Etc write
  desc: d
  condition: opened and (fd.name startswith /etc or fd.directory = /root) and not proc.name = vi
  output: "%fd.name"
  priority: ERROR
"""


def _open(name: str, proc: str = "cat") -> Event:
    return Event(
        type="openat",
        ts=1,
        proc=Process(pid=1, name=proc),
        fd=FdInfo(num=3, type="file", name=name),
    )


@pytest.mark.parametrize(
    "text",
    [
        "a.b = 1 and (c.d = 2 or not e.f exists)",
        "not (a.b in (x, 'y z') and c)",
        'tolower(proc.name) = "a b" or proc.aname[2] startswith "/x"',
        "proc.name endswith anyof (.so, .so.1)",
    ],
)
def test_unparse_round_trips(text: str) -> None:
    tree = parse_condition(text)
    assert parse_condition(unparse(tree)) == tree


def test_explain_names_the_deciding_check() -> None:
    ruleset = load_rules([], sources=[("r.yaml", RULES)])
    (miss,) = explain_event(ruleset, _open("/tmp/x"))
    assert not miss.matched
    text = miss.render()
    assert "fd.name startswith /etc" in text
    assert "[fd.name=/tmp/x]" in text
    (hit,) = explain_event(ruleset, _open("/etc/passwd"))
    assert hit.matched
    (vetoed,) = explain_event(ruleset, _open("/etc/passwd", proc="vi"))
    assert not vetoed.matched
    assert "proc.name = vi   [proc.name=vi]" in vetoed.render()


def test_explain_has_no_candidates_for_other_types() -> None:
    ruleset = load_rules([], sources=[("r.yaml", RULES)])
    event = Event(type="execve", ts=1, proc=Process(pid=1, name="x"))
    assert explain_event(ruleset, event) == []
