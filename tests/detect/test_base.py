"""Detectors are built from the DETECTORS registry, each from the same `DetectorConfig`."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.detect import DETECTORS, DetectorConfig, DetectorConfigError, build_detectors
from stockade.detect.rules import RulesDetector
from stockade.model import Alert, Event, EventType

OPEN_RULE = """
- rule: Opens passwd
  desc: d
  condition: evt.type = openat and fd.name = /etc/passwd
  output: "%proc.name"
  priority: WARNING
"""
ANY_RULE = """
- rule: Any shell
  desc: d
  condition: proc.name = sh
  output: "%proc.name"
  priority: WARNING
"""


class CountingDetector:
    """A detector of another kind: sees every event, raises nothing."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    def inspect(self, event: Event) -> list[Alert]:  # noqa: ARG002 (interface)
        """Nothing."""
        return []

    def event_types(self) -> frozenset[EventType] | None:
        """Only connects."""
        return frozenset({EventType.CONNECT})


DETECTORS.register("test-counting", CountingDetector)


def test_rules_is_a_built_in_detector_built_from_the_config(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(OPEN_RULE)
    config = DetectorConfig(rule_paths=(rules,))
    built = build_detectors(["rules", "test-counting"], config)
    assert isinstance(built[0], RulesDetector)
    assert [r.name for r in built[0].ruleset.rules] == ["Opens passwd"]
    assert isinstance(built[1], CountingDetector) and built[1].config is config


def test_the_default_rules_when_no_rule_file_is_given() -> None:
    (detector,) = build_detectors(["rules"], DetectorConfig())
    assert isinstance(detector, RulesDetector) and detector.ruleset.rules


def test_an_unknown_detector_is_one_line_naming_the_known_ids() -> None:
    with pytest.raises(DetectorConfigError) as caught:
        build_detectors(["rules", "nosuch"], DetectorConfig())
    message = str(caught.value)
    assert "\n" not in message
    assert "unknown detector 'nosuch'" in message and "rules" in message


def test_rules_that_do_not_load_are_refused_with_where(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("- rule: x\n  condition: evt.type = \n")
    with pytest.raises(DetectorConfigError, match="bad.yaml:"):
        build_detectors(["rules"], DetectorConfig(rule_paths=(rules,)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [(OPEN_RULE, frozenset({EventType.OPENAT})), (OPEN_RULE + ANY_RULE, None)],
    ids=["typed-rule", "a-rule-without-type"],
)
def test_rules_detector_says_which_event_types_it_needs(
    tmp_path: Path, text: str, expected: frozenset[EventType] | None
) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(text)
    assert RulesDetector.from_paths([rules]).event_types() == expected
