"""Falco's filter-parser conformance cases, plus positions and AST shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.rules import RuleSyntaxError, ast, parse_condition

CASES = "falco/conformance/filter_parser_cases.json"
# The corpus extractor cut two C string literals that libsinsp's test concatenates across
# lines; the full conditions (which libsinsp accepts) are tested instead of the halves.
TRUNCATED = {
    "tolower(some.field) = b64(test.field) or tolower(other.field) = ": (
        "tolower(some.field) = b64(test.field) or tolower(other.field) = tolower(anoter.field)"
    ),
    'join("-", (fd.name, fd.directory)) = /tmp and join(":", (proc.name, proc.pid)) = ': (
        'join("-", (fd.name, fd.directory)) = /tmp and join(":", (proc.name, proc.pid)) = cat:123'
    ),
}


def _cases(corpus: Path) -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads((corpus / CASES).read_text())
    return data


def test_all_conformance_cases(corpus: Path) -> None:
    cases = _cases(corpus)
    assert len(cases) == 530
    wrong = []
    for case in cases:
        text = TRUNCATED.get(case["condition"], case["condition"])
        try:
            parse_condition(text)
            got = "accept"
        except RuleSyntaxError:
            got = "reject"
        if got != case["expect"]:
            wrong.append((case["expect"], text))
    assert wrong == []
    assert sum(c["expect"] == "accept" for c in cases) == 335


def test_truncated_halves_are_rejected() -> None:
    for half in TRUNCATED:
        with pytest.raises(RuleSyntaxError):
            parse_condition(half)


def test_precedence_and_binds_tighter_than_or() -> None:
    tree = parse_condition("a.a=1 or b.b=2 and c")
    assert isinstance(tree, ast.Or)
    assert isinstance(tree.children[1], ast.And)


def test_field_arguments_and_transformers() -> None:
    tree = parse_condition("proc.aname[2] = bash and tolower(proc.env[HOME]) startswith /root")
    assert isinstance(tree, ast.And)
    first, second = tree.children
    assert isinstance(first, ast.BinaryCheck)
    assert first.left == ast.FieldRef("proc.aname", "2")
    assert isinstance(second, ast.BinaryCheck)
    assert second.left == ast.Transformer("tolower", (ast.FieldRef("proc.env", "HOME"),))


def test_modifier_operator() -> None:
    tree = parse_condition("proc.name endswith anyof (.so, .so.1)")
    assert isinstance(tree, ast.BinaryCheck)
    assert tree.op == "endswith anyof"
    assert tree.right == ast.ListValue((".so", ".so.1"))


def test_error_position_line_and_column() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition("proc.name = cat and\n  fd.name ===")
    pos = info.value.position
    assert (pos.line, pos.column) == (2, 13)
    assert pos.offset == 32
    assert "expected" in info.value.message
