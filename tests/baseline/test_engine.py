"""The baseline engine: conditions, comparisons, not applicable, one-line policy errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.baseline.engine import run_policy
from stockade.baseline.errors import PolicyError
from stockade.baseline.load import parse_policy
from stockade.baseline.model import Status
from stockade.baseline.probes import Target

POLICY = """
policy: {id: t, name: Test, applies_to: {ID: [testos]}}
checks:
  - id: all-pass
    title: both hold
    tests:
      - {file: /etc/app.conf, matches: '^mode\\s*=\\s*strict'}
      - {file: /etc/app.conf, value: '^retries\\s*=\\s*(\\d+)', compare: "<= 3"}
  - id: any-one
    title: one of two
    condition: any
    tests:
      - {file: /etc/missing.conf, exists: true}
      - {file: /etc/app.conf, exists: true}
  - id: none-bad
    title: no debug line
    condition: none
    tests:
      - {file: /etc/app.conf, matches: '^debug\\s*=\\s*on'}
  - id: default-used
    title: a value absent from the file takes its default
    tests:
      - {file: /etc/app.conf, value: '^timeout\\s*=\\s*(\\d+)', default: "90", compare: "<= 60"}
  - id: needs-missing
    title: requirement not met
    requires: [{file: /etc/missing.conf, exists: true}]
    tests: [{file: /etc/missing.conf, matches: x}]
  - id: sysctl-here
    title: no /proc under a test root
    tests: [{sysctl: net.ipv4.ip_forward, equals: "0"}]
  - id: mode
    title: file mode
    tests: [{file: /etc/app.conf, mode_max: "0600"}]
"""


H = "policy: {id: x}\nchecks:\n"


def _root(tmp_path: Path, os_id: str = "testos") -> Target:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(f"ID={os_id}\n")
    conf = tmp_path / "etc" / "app.conf"
    conf.write_text("mode = strict\nretries = 2\n")
    conf.chmod(0o644)
    return Target(str(tmp_path))


def test_statuses_and_score(tmp_path: Path) -> None:
    result = run_policy(parse_policy(POLICY, "t.yaml"), _root(tmp_path))
    statuses = {r.check_id: r.status for r in result.results}
    assert statuses == {
        "all-pass": Status.PASS,
        "any-one": Status.PASS,
        "none-bad": Status.PASS,
        "default-used": Status.FAIL,
        "needs-missing": Status.NOT_APPLICABLE,
        "sysctl-here": Status.NOT_APPLICABLE,
        "mode": Status.FAIL,
    }
    assert result.score == 60.0


def test_policy_for_another_os_is_not_applicable(tmp_path: Path) -> None:
    result = run_policy(parse_policy(POLICY, "t.yaml"), _root(tmp_path, "otheros"))
    assert {r.status for r in result.results} == {Status.NOT_APPLICABLE}
    assert result.score == 100.0


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (H + "  - id: a\n    title: t\n    tests: [{file: /x, matches: '('}]\n",
         "5:33", "bad regular expression"),
        (H + "  - id: a\n    title: t\n    tests: [{file: /x, frobs: 1}]\n",
         "5:13", "unknown key 'frobs'"),
        (H + "  - id: a\n    title: t\n    condition: most\n    tests: []\n",
         "5:16", "condition must be all, any or none"),
        (H + "  - {id: a, title: t, tests: [{sysctl: k, compare: 'about 3'}]}\n",
         "3:52", "compare must be"),
        (H + "  - {id: a, title: t, tests: []}\n  - {id: a, title: u, tests: []}\n",
         "4:10", "duplicate check id"),
        ("policy: {id: x}\nchecks: [\n", "3:1", "not valid YAML"),
        (H + "  - {id: a, tests: []}\n", "3:5", "needs 'title'"),
    ],
    ids=["regex", "unknown-key", "condition", "compare", "duplicate", "yaml", "missing-title"],
)  # fmt: skip
def test_malformed_policy_is_one_line_with_place(text: str, where: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "bad.yaml")
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"bad.yaml:{where}: ") and message in line
