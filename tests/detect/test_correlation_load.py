"""Correlation files: a malformed one gives one line per problem, with file:line:column
and a stable code; the agent refuses to start on one, as on a rule file that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.detect import DetectorConfig, DetectorConfigError, build_detectors
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.correlation_load import correlation_paths, load_correlations

GOOD = """\
- correlation: Many connects
  condition: evt.type = connect
  group_by: [container.id]
  threshold: 5
  window: 2s
  priority: NOTICE
  output: "%corr.count connects"
"""

# name -> (file text, expected code, line, column)
BAD = {
    "yaml syntax": ("- correlation: [x\n", "LOAD_ERR_YAML_PARSE", 2, 1),
    "not a list": ("correlation: x\n", "LOAD_ERR_YAML_VALIDATE", 1, 1),
    "item not a mapping": ("- just text\n", "LOAD_ERR_YAML_VALIDATE", 1, 3),
    "unknown key": (GOOD + "  treshold: 3\n", "LOAD_ERR_YAML_VALIDATE", 8, 13),
    "missing key": (GOOD.replace("  window: 2s\n", ""), "LOAD_ERR_YAML_VALIDATE", 1, 3),
    "condition syntax": (
        GOOD.replace("evt.type = connect", "evt.type = = connect"),
        "LOAD_ERR_COMPILE_CONDITION",
        2,
        14,
    ),
    "unknown field in condition": (
        GOOD.replace("evt.type = connect", "evt.typo = connect"),
        "LOAD_UNKNOWN_FIELD",
        2,
        14,
    ),
    "macro in condition": (
        GOOD.replace("evt.type = connect", "outbound"),
        "LOAD_ERR_VALIDATE",
        2,
        14,
    ),
    "unknown group field": (
        GOOD.replace("[container.id]", "[container.idd]"),
        "LOAD_UNKNOWN_FIELD",
        3,
        13,
    ),
    "bad threshold": (GOOD.replace("5", "zero"), "LOAD_ERR_YAML_VALIDATE", 4, 14),
    "bad window": (GOOD.replace("2s", "two"), "LOAD_ERR_YAML_VALIDATE", 5, 11),
    "bad priority": (GOOD.replace("NOTICE", "LOUD"), "LOAD_ERR_YAML_VALIDATE", 6, 13),
    "unknown output field": (
        GOOD.replace('connects"', 'connects %proc.nam"'),
        "LOAD_ERR_COMPILE_OUTPUT",
        7,
        11,
    ),
    "condition and sequence": (
        GOOD + "  sequence: [evt.type = open, evt.type = connect]\n",
        "LOAD_ERR_YAML_VALIDATE",
        1,
        16,
    ),
    "one-step sequence": (
        GOOD.replace("  condition: evt.type = connect\n", "  sequence: [evt.type = open]\n"),
        "LOAD_ERR_YAML_VALIDATE",
        2,
        13,
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_malformed_file_names_code_and_place(name: str, tmp_path: Path) -> None:
    text, code, line, column = BAD[name]
    path = tmp_path / "c.yaml"
    path.write_text(text)
    loaded = load_correlations([path])
    assert loaded.correlations == []
    assert [(m.code, m.line, m.column) for m in loaded.errors] == [(code, line, column)], [
        str(m) for m in loaded.errors
    ]
    line_text = str(loaded.errors[0])
    assert line_text.startswith(f"{path}:{line}:{column}: {code}: ")
    assert "\n" not in line_text


def test_one_bad_item_does_not_hide_the_others(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + GOOD.replace("Many connects", "Other").replace("2s", "soon"))
    loaded = load_correlations([path])
    assert [c.name for c in loaded.correlations] == ["Many connects"]
    assert len(loaded.errors) == 1 and loaded.errors[0].item == "correlation 'Other'"


def test_an_unreadable_file(tmp_path: Path) -> None:
    loaded = load_correlations([tmp_path / "missing.yaml"])
    assert [m.code for m in loaded.errors] == ["LOAD_ERR_FILE_READ"]


def test_files_beside_the_rule_files_are_loaded(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("[]\n")
    (tmp_path / "correlations").mkdir()
    (tmp_path / "correlations" / "mine.yaml").write_text(GOOD)
    config = DetectorConfig(rule_paths=(rules,))
    assert correlation_paths(config) == [tmp_path / "correlations"]
    (built,) = build_detectors(["correlation"], config)
    assert isinstance(built, CorrelationDetector)
    assert [c.name for c in built.correlations] == ["Many connects"]


def test_no_correlations_beside_rule_files_without_a_directory(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("[]\n")
    assert correlation_paths(DetectorConfig(rule_paths=(rules,))) == []


def test_the_detector_refuses_a_file_with_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("2s", "two"))
    with pytest.raises(DetectorConfigError, match=r"c\.yaml:5:11: LOAD_ERR_YAML_VALIDATE"):
        build_detectors(["correlation"], DetectorConfig(correlation_paths=(path,)))
