"""The rule test runner: file format, errors with file:line, and readable reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.rules.testing import RuleTestFileError, load_test_file, run_test_file

RULES = """\
- macro: never_true
  condition: (evt.num = 0)
- rule: Shell spawned
  desc: a shell started
  condition: evt.type = execve and proc.name in (bash, sh) and not never_true
  output: shell %proc.cmdline
  priority: NOTICE
- rule: Curl spawned
  desc: curl started
  condition: evt.type = execve and proc.name = curl
  output: curl %proc.cmdline
  priority: NOTICE
"""

TESTS = """\
rules: [rules.yaml]
cases:
  - name: bash fires
    events:
      - {type: execve, ts: 1, proc: {pid: 10, name: bash, argv: [bash]}}
    fire: [Shell spawned]
    not_fire: [Curl spawned]
  - name: curl is not a shell
    events:
      - {type: execve, ts: 1, proc: {pid: 11, name: curl, argv: [curl]}}
    not_fire: Shell spawned
"""


def _write(tmp_path: Path, tests: str, rules: str = RULES) -> Path:
    (tmp_path / "rules.yaml").write_text(rules)
    path = tmp_path / "tests.yaml"
    path.write_text(tests)
    return path


def test_a_passing_file_reports_ok(tmp_path: Path) -> None:
    report = run_test_file(_write(tmp_path, TESTS))
    assert report.ok, report.render()
    assert [c.case.name for c in report.cases] == ["bash fires", "curl is not a shell"]
    assert report.render().endswith("2 passed, 0 failed")


def test_a_mismatch_shows_expected_against_fired(tmp_path: Path) -> None:
    tests = TESTS.replace("not_fire: Shell spawned", "fire: Shell spawned")
    report = run_test_file(_write(tmp_path, tests))
    assert not report.ok
    text = report.render()
    assert "FAIL curl is not a shell (line 8)" in text
    assert "expected to fire:   Shell spawned" in text
    assert "fired: Curl spawned" in text
    assert text.endswith("1 passed, 1 failed")


def test_a_rule_firing_against_expectation_is_reported(tmp_path: Path) -> None:
    tests = TESTS.replace("not_fire: [Curl spawned]", "not_fire: [Shell spawned]").replace(
        "fire: [Shell spawned]\n", "fire: [Curl spawned]\n", 1
    )
    report = run_test_file(_write(tmp_path, tests))
    text = report.render()
    assert "fired unexpectedly: Shell spawned" in text
    assert "expected to fire:   Curl spawned" in text


def test_unknown_rule_names_fail_the_case(tmp_path: Path) -> None:
    tests = TESTS.replace("not_fire: Shell spawned", "not_fire: Shel spawned")
    report = run_test_file(_write(tmp_path, tests))
    assert not report.ok
    assert "not rules of the set: Shel spawned" in report.render()


def test_events_are_numbered_from_one_so_never_true_stays_false(tmp_path: Path) -> None:
    test_file = load_test_file(_write(tmp_path, TESTS))
    assert [e.seq for c in test_file.cases for e in c.events] == [1, 2]


def test_rules_argument_overrides_the_file_list(tmp_path: Path) -> None:
    path = _write(tmp_path, TESTS)
    other = tmp_path / "other.yaml"
    other.write_text(RULES.replace("in (bash, sh)", "= zsh"))
    report = run_test_file(path, rules=[other])
    assert not report.ok
    assert "expected to fire:   Shell spawned" in report.render()


def test_rule_load_errors_are_reported(tmp_path: Path) -> None:
    report = run_test_file(_write(tmp_path, TESTS, RULES.replace("evt.type =", "evt.typo =")))
    assert not report.ok
    assert report.errors
    assert "rule load error" in report.render()


EVENT = "{type: execve, ts: 1, proc: {pid: 1}}"
BAD_FILES = {
    "yaml": ("cases: [", ":", "invalid YAML"),
    "missing-proc": (
        "cases:\n  - name: x\n    events:\n      - {type: execve, ts: 1}\n    fire: [A]\n",
        ":4:",
        "invalid event",
    ),
    "bad-pid": (
        "cases:\n  - name: x\n    events:\n      - {type: execve, ts: 1, proc: {pid: x}}\n"
        "    fire: A\n",
        ":4:",
        "invalid event",
    ),
    "typo-key": ("cases:\n  - name: x\n    evnts: []\n", ":2:", "unknown case keys: evnts"),
    "no-expectation": (f"cases:\n  - name: x\n    events: [{EVENT}]\n", ":2:", "expects nothing"),
    "no-name": (f"cases:\n  - events: [{EVENT}]\n    fire: A\n", ":2:", "needs a name"),
    "rules": ("rules: x\ncases: []\n", ":1:", "list of paths"),
    "top": ("case: []\n", ":1:", "unknown keys: case"),
}


@pytest.mark.parametrize(("text", "where", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_errors_in_the_test_file_name_file_and_line(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(RuleTestFileError) as info:
        load_test_file(path)
    assert str(info.value).startswith(f"{path}{where}")
    assert message in str(info.value)
