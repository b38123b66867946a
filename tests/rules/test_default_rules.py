"""Stockade's default rules load cleanly, are tagged, and each has a firing case and a near
miss in tests/rules/cases/default_rules.yaml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stockade.rules import load_rules
from stockade.rules.default import default_rule_paths
from stockade.rules.ruleset import Ruleset
from stockade.rules.testing import RuleCase, load_test_file, run_case, run_test_file

CASE_FILE = Path(__file__).parent / "cases" / "default_rules.yaml"
TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")


@pytest.fixture(scope="module")
def default_ruleset() -> Ruleset:
    return load_rules(default_rule_paths())


def test_default_rules_load_without_errors_or_warnings(default_ruleset: Ruleset) -> None:
    messages = [*default_ruleset.errors, *default_ruleset.warnings]
    assert not messages, "\n".join(str(m) for m in messages)
    assert 25 <= len(default_ruleset.rules) <= 40
    assert all(rule.enabled for rule in default_ruleset.rules)


def test_every_default_rule_is_tagged_with_a_mitre_tactic_and_technique(
    default_ruleset: Ruleset,
) -> None:
    for rule in default_ruleset.rules:
        assert any(t.startswith("mitre_") for t in rule.tags), rule.name
        assert any(TECHNIQUE.fullmatch(t) for t in rule.tags), rule.name
        assert {"host", "container"} & set(rule.tags), rule.name


def test_every_default_rule_has_a_firing_case_and_a_near_miss(default_ruleset: Ruleset) -> None:
    cases = load_test_file(CASE_FILE).cases
    firing = set().union(*(case.fire for case in cases))
    near_miss = set().union(*(case.not_fire for case in cases))
    names = {rule.name for rule in default_ruleset.rules}
    assert firing & near_miss == names
    assert "Terminal shell in container" in names


@pytest.mark.parametrize("case", load_test_file(CASE_FILE).cases, ids=lambda c: c.name)
def test_default_rule_case(default_ruleset: Ruleset, case: RuleCase) -> None:
    result = run_case(default_ruleset, case)
    assert result.ok, result.render()


def test_the_case_file_passes_through_the_runner_with_the_default_rules() -> None:
    report = run_test_file(CASE_FILE)
    assert report.ok, report.render()
    assert len(report.cases) == len(load_test_file(CASE_FILE).cases)
