"""`skip-if-unknown-filter`: decided on the load code of the error, not its message text."""

from __future__ import annotations

import pytest

from stockade.rules import load_rules

RULE = """
- rule: uses a field this engine lacks
  desc: d
  condition: {condition}
  output: {output}
  priority: WARNING
  skip-if-unknown-filter: {skip}
"""


@pytest.mark.parametrize(
    ("condition", "output"),
    [("evt.type = open and no.such.field = 1", "x"), ("evt.type = open", "seen %no.such.field")],
    ids=["condition", "output"],
)
def test_unknown_field_skips_the_rule_when_asked(condition: str, output: str) -> None:
    text = RULE.format(condition=condition, output=output, skip="true")
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert ruleset.errors == []
    assert [w.code for w in ruleset.warnings] == ["LOAD_UNKNOWN_FILTER"]
    assert ruleset.rules == []


@pytest.mark.parametrize(
    ("condition", "output", "code"),
    [
        ("evt.type = open and no.such.field = 1", "x", "LOAD_ERR_COMPILE_CONDITION"),
        ("evt.type = open", "seen %no.such.field", "LOAD_ERR_COMPILE_OUTPUT"),
    ],
    ids=["condition", "output"],
)
def test_unknown_field_is_an_error_otherwise(condition: str, output: str, code: str) -> None:
    text = RULE.format(condition=condition, output=output, skip="false")
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert [e.code for e in ruleset.errors] == [code]
