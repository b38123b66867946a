"""Conjunct ordering for the dispatch functions, and the literal-end tests of globs."""

from __future__ import annotations

import pytest

from stockade.model import Event, FdInfo, Process
from stockade.rules import ast, load_rules, parse_condition
from stockade.rules.order import conjuncts, reorder
from stockade.rules.unparse import unparse


def _cost(node: ast.FieldRef | ast.Transformer) -> float:
    return 8.0 if str(node) == "proc.cmdline" else 1.0


def test_cheap_selective_conjuncts_move_first() -> None:
    tree = parse_condition(
        "proc.cmdline contains x and not proc.name in (a, b) and fd.name startswith /etc"
    )
    ordered = reorder(tree, _cost, {})
    assert unparse(ordered) == (
        "fd.name startswith /etc and proc.cmdline contains x and not proc.name in (a, b)"
    )


def test_nested_or_and_not_keep_their_order() -> None:
    tree = parse_condition(
        "(proc.cmdline contains x or proc.name = a) and not (proc.pid = 1 or proc.ppid = 2)"
    )
    ordered = reorder(tree, _cost, {})
    assert {unparse(c) for c in conjuncts(ordered, set())} == {
        "proc.cmdline contains x or proc.name = a",
        "not (proc.pid = 1 or proc.ppid = 2)",
    }


def test_shared_subtrees_are_not_flattened() -> None:
    inner = parse_condition("proc.name = a and fd.name = b")
    tree = ast.And((parse_condition("proc.cmdline contains x"), inner))
    assert inner in conjuncts(reorder(tree, _cost, {inner: 2}), {inner: 2})
    assert inner not in conjuncts(reorder(tree, _cost, {}), set())


def _open(path: str) -> Event:
    fd = FdInfo(num=3, type="file", name=path)
    return Event(type="openat", ts=1, proc=Process(pid=1, name="cat"), fd=fd)


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("/proc/*/environ", "/proc/12/environ", True),
        ("/proc/*/environ", "/proc/12/environ2", False),
        ("/proc/*/environ", "/prod/12/environ", False),
        ("*.so.?", "/lib/libc.so.6", True),
        ("/etc/[ps]*wd", "/etc/passwd", True),
        ("/etc/[ps]*wd", "/etc/xasswd", False),
        ("/etc/passwd", "/etc/passwd", True),
    ],
)
def test_glob_literal_ends_agree_with_the_pattern(pattern: str, path: str, hit: bool) -> None:
    text = (
        f"- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name glob '{pattern}'\n"
        "  output: o\n  priority: INFO\n"
    )
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert ruleset.ok, ruleset.errors
    assert bool(ruleset.matches(_open(path))) is hit
    assert ruleset.rules[0].predicate(_open(path)) is hit


def test_a_failing_later_conjunct_still_means_no_match() -> None:
    text = (
        "- rule: r\n  desc: d\n"
        "  condition: evt.type = openat and proc.name = cat and evt.arg.flags contains O_CREAT\n"
        "  output: o\n  priority: INFO\n"
    )
    ruleset = load_rules([], sources=[("r.yaml", text)])
    event = _open("/tmp/x")
    expected = [r for r, p in ruleset.candidates("openat") if p(event)]
    assert ruleset.matches(event) == expected


def test_a_membership_in_an_empty_list_drops_the_rule_from_dispatch() -> None:
    tree = parse_condition("proc.name = cat and fd.name in ()")
    assert reorder(tree, _cost, {}) == ast.Const(False)
    negated = parse_condition("proc.name = cat and not fd.name in ()")
    assert isinstance(reorder(negated, _cost, {}), ast.And)
    text = (
        "- list: empty\n  items: []\n"
        "- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name in (empty)\n"
        "  output: o\n  priority: INFO\n"
    )
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert ruleset.ok, ruleset.errors
    assert ruleset.matches(_open("/tmp/x")) == []
