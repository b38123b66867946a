"""Every enabled rule of Falco's stable and incubating files fires on its case and stays
silent on a near miss, evaluated by Stockade's engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model import Container, Event, FdInfo, Process
from stockade.rules import load_rules
from stockade.rules.ruleset import Ruleset
from stockade.rules.testing import RuleCase, load_test_file, run_case

CASES = Path(__file__).parent / "cases"
CASE_FILES = ("falco_rules.yaml", "falco_incubating_rules.yaml")
FALCO_FILES = ("falco/rules/falco_rules.yaml", "falco/rules/falco-incubating_rules.yaml")

# Enabled rules that can never fire with Falco's shipped lists: their near miss is a case
# here, their firing case is a test below that fills the list first.
NEVER_MATCH = {
    "Network Connection outside Local Subnet": (
        "needs k8s.ns.name in (namespace_scope_network_only_subnet), a list shipped empty;"
        " see test_local_subnet_rule_fires_once_its_namespace_list_is_filled"
    ),
}

# Enabled rules whose firing case needs data Stockade's events do not carry yet.
NOT_YET_COVERED: dict[str, str] = {}


def _params() -> list[object]:
    return [
        pytest.param(case, id=f"{name.removesuffix('.yaml')}: {case.name}")
        for name in CASE_FILES
        for case in load_test_file(CASES / name).cases
    ]


def _all_cases() -> list[RuleCase]:
    return [case for name in CASE_FILES for case in load_test_file(CASES / name).cases]


@pytest.fixture(scope="module")
def falco_ruleset(corpus: Path) -> Ruleset:
    ruleset = load_rules([corpus / path for path in FALCO_FILES])
    assert not ruleset.errors, "\n".join(str(e) for e in ruleset.errors)
    return ruleset


@pytest.mark.parametrize("case", _params())
def test_falco_rule_case(falco_ruleset: Ruleset, case: RuleCase) -> None:
    result = run_case(falco_ruleset, case)
    assert result.ok, result.render()


def test_every_enabled_rule_has_a_firing_case_and_a_near_miss(falco_ruleset: Ruleset) -> None:
    enabled = {rule.name for rule in falco_ruleset.rules if rule.enabled}
    cases = _all_cases()
    firing = set().union(*(case.fire for case in cases))
    near_miss = set().union(*(case.not_fire for case in cases))
    assert len(enabled) == 56
    assert firing & near_miss == enabled - NEVER_MATCH.keys() - NOT_YET_COVERED.keys()
    assert NEVER_MATCH.keys() <= near_miss
    assert not (firing | near_miss) - enabled


SCOPED_TO_SHOP = """
- list: namespace_scope_network_only_subnet
  items: [shop]
  override:
    items: append
"""


@pytest.mark.parametrize(
    ("dip", "fires"),
    [("203.0.113.10", True), ("10.88.0.9", False)],
    ids=["public-address-fires", "local-subnet-near-miss"],
)
def test_local_subnet_rule_fires_once_its_namespace_list_is_filled(
    corpus: Path, dip: str, fires: bool
) -> None:
    """The one rule Falco ships unarmed, armed the way its description says to."""
    ruleset = load_rules(
        [corpus / path for path in FALCO_FILES], sources=[("scope.yaml", SCOPED_TO_SHOP)]
    )
    assert not ruleset.errors
    event = Event(
        type="connect",
        ts=1_000_000_000,
        seq=1,
        container=Container(id="4b" * 32, name="web", pod_name="web-0", pod_namespace="shop"),
        proc=Process(pid=2300, name="curl", exepath="/usr/bin/curl", argv=("curl", "x")),
        fd=FdInfo(
            num=3, type="ipv4", l4proto="tcp", sip="10.88.0.5", sport=41000, dip=dip, dport=80
        ),
    )
    rules = {alert.rule for alert in ruleset.evaluate(event)}
    assert ("Network Connection outside Local Subnet" in rules) is fires
