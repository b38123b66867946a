"""Macro expansion is bounded: doubling macros and deep nesting fail fast with a load error."""

from __future__ import annotations

import pytest

from stockade.rules import load_rules, parse_condition
from stockade.rules.errors import ConditionTooLarge
from stockade.rules.expand import MAX_CONDITION_DEPTH, MAX_CONDITION_NODES, Expander

RULE = """\
- rule: Uses the last macro
  desc: d
  condition: evt.type = execve and {macro}
  output: x %proc.name
  priority: WARNING
"""


def _doubling_file(levels: int) -> str:
    """Each macro is its predecessor twice: level N expands to 2**N checks."""
    items = ["- macro: m0\n  condition: proc.name = a\n"]
    items += [f"- macro: m{i}\n  condition: (m{i - 1} or m{i - 1})\n" for i in range(1, levels)]
    return "".join(items) + RULE.format(macro=f"m{levels - 1}")


@pytest.mark.timeout(60)  # unbounded, this load never finishes: the timeout catches it
def test_doubling_macros_fail_fast_at_the_first_macro_past_the_bound() -> None:
    text = _doubling_file(64)
    assert len(text) > 2_000  # the size of the file that never finished loading
    ruleset = load_rules([], sources=[("double.yaml", text)])
    first_too_big = next(n for n in range(64) if 2 ** (n + 1) - 1 > MAX_CONDITION_NODES)
    macro_line = 1 + 2 * first_too_big
    assert ruleset.errors[0].code == "LOAD_ERR_CONDITION_TOO_LARGE"
    assert (ruleset.errors[0].line, ruleset.errors[0].column) == (macro_line, 3)
    assert f"macro 'm{first_too_big}'" in ruleset.errors[0].message
    assert {e.code for e in ruleset.errors} == {"LOAD_ERR_CONDITION_TOO_LARGE"}
    assert ruleset.rules == []


def test_doubling_macros_within_the_bound_load() -> None:
    ruleset = load_rules([], sources=[("double.yaml", _doubling_file(10))])
    assert ruleset.ok, ruleset.errors
    assert [r.name for r in ruleset.rules] == ["Uses the last macro"]
    assert not [w for w in ruleset.warnings if w.code == "LOAD_UNUSED_MACRO"]


def test_a_long_macro_chain_fails_with_its_nesting() -> None:
    items = ["- macro: m0\n  condition: proc.name = a\n"]
    items += [
        f"- macro: m{i}\n  condition: (m{i - 1} and proc.pid > {i})\n"
        for i in range(1, MAX_CONDITION_DEPTH + 20)
    ]
    text = "".join(items) + RULE.format(macro=f"m{MAX_CONDITION_DEPTH + 19}")
    ruleset = load_rules([], sources=[("chain.yaml", text)])
    assert ruleset.errors
    assert {e.code for e in ruleset.errors} == {"LOAD_ERR_CONDITION_TOO_LARGE"}
    assert "nested levels" in ruleset.errors[0].message


def test_expander_counts_shared_subtrees_each_time() -> None:
    macros = {"a": parse_condition("proc.name = x"), "b": parse_condition("a or a")}
    expander = Expander(macros, {"a": (0, 1), "b": (1, 2)})
    expander.expand(parse_condition("b and b"))  # 1 + 2 * (1 + 2) = 7 nodes
    assert expander.used_macros == {"a", "b"}
    many = " or ".join(["proc.name = x"] * (MAX_CONDITION_NODES + 1))
    with pytest.raises(ConditionTooLarge, match="more than"):
        Expander({}).expand(parse_condition(many))


def test_prepared_macros_are_not_counted_as_used_until_a_rule_uses_them() -> None:
    macros = {"a": parse_condition("proc.name = x"), "b": parse_condition("a or a")}
    expander = Expander(macros, {"a": (0, 1), "b": (1, 2)})
    expander.prepare("b")
    assert expander.used_macros == set()
    expander.expand(parse_condition("b"))
    assert expander.used_macros == {"a", "b"}
