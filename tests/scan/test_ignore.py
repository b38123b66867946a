"""`.stockadeignore` and `--ignorefile`: Trivy's shapes, expiry dates and reasons."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.model.inventory import Finding, ScanResult, Severity
from stockade.scan.ignore import IgnoreFileError, IgnoreRule, apply_ignores, load_ignorefile

RUNNER = CliRunner()
IGNORE_YAML = """\
secrets:
  - id: aws-access-key-id
    paths: ["/app/.env"]
    statement: rotated on 2026-11-30, the key is dead
  - id: github-pat
    expired_at: 2099-01-01
    statement: test token of the demo org
  - id: private-key
    paths: ["somewhere/else/*"]
misconfigurations:
  - id: AVD-DS-0002
    expired_at: 2020-01-01
    statement: was accepted until the base image changed
"""


def test_trivy_yaml_shape_on_the_corpus_image(corpus_image: Path, tmp_path: Path) -> None:
    ignorefile = tmp_path / "accepted.yaml"
    ignorefile.write_text(IGNORE_YAML)
    args = ["scan", "image", f"oci-archive:{corpus_image}", "--no-cache", "-f", "json"]
    result = RUNNER.invoke(
        app, [*args, "--scanners", "secret,misconfig", "--ignorefile", str(ignorefile)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    ids = {f["id"] for f in doc["findings"]}
    assert "private-key" in ids  # its rule is for other paths
    assert "DS-0002" in ids  # its rule expired
    assert not ids & {"aws-access-key-id", "github-pat"}
    hidden = {s["finding"]["id"]: s for s in doc["suppressed"]}
    assert set(hidden) == {"aws-access-key-id", "github-pat"}
    assert hidden["aws-access-key-id"]["statement"] == "rotated on 2026-11-30, the key is dead"
    assert hidden["github-pat"]["source"] == f"{ignorefile}: secrets[2]"
    assert any("DS-0002" in w and "expired on 2020-01-01" in w for w in doc["warnings"])


def test_default_file_of_ids_with_expiry(
    corpus_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".stockadeignore").write_text(
        "# accepted for now\nprivate-key  # the demo key\ngithub-pat exp:2000-01-01\n"
    )
    args = ["scan", "image", f"oci-archive:{corpus_image}", "--no-cache"]
    table = RUNNER.invoke(app, [*args, "--scanners", "secret"])
    assert table.exit_code == 0, table.output
    assert "suppressed: private-key" in table.stdout
    assert "github-pat" in table.stdout and "expired on 2000-01-01" in table.stdout


def test_aliases_and_trivy_check_names_match() -> None:
    vuln = Finding(
        kind="vulnerability",
        id="GHSA-x84v-xcm2-53pg",
        severity=Severity.MEDIUM,
        target="requests",
        references=("CVE-2018-18074", "https://example.org/advisory"),
    )
    check = Finding(
        kind="misconfiguration", id="DS-0002", severity=Severity.HIGH, path="Dockerfile"
    )
    result = ScanResult(target="t", findings=[vuln, check])
    rules = [IgnoreRule("CVE-2018-18074", "f:1"), IgnoreRule("AVD-DS-0002", "f:2")]
    apply_ignores(result, rules, dt.date(2026, 12, 7))
    assert result.findings == []
    assert [s.source for s in result.suppressed] == ["f:1", "f:2"]


def test_bad_ignore_files_are_one_line_errors(tmp_path: Path) -> None:
    bad_date = tmp_path / "ignore.yaml"
    bad_date.write_text("vulnerabilities:\n  - id: CVE-1\n    expired_at: soon\n")
    with pytest.raises(IgnoreFileError, match=r"vulnerabilities\[1\]: expiry 'soon' is not a date"):
        load_ignorefile(bad_date)
    args = ["scan", "fs", str(tmp_path), "--no-cache", "--scanners", "secret"]
    result = RUNNER.invoke(app, [*args, "--ignorefile", str(bad_date)])
    assert result.exit_code == 2
    assert "expiry 'soon' is not a date" in result.output and "Traceback" not in result.output
    missing = RUNNER.invoke(app, [*args, "--ignorefile", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "cannot read ignore file" in missing.output


def test_suppressed_findings_in_the_trivy_report(corpus_image: Path, tmp_path: Path) -> None:
    ignorefile = tmp_path / "accepted.yaml"
    ignorefile.write_text(IGNORE_YAML)
    args = ["scan", "image", f"oci-archive:{corpus_image}", "--no-cache", "-f", "trivy-json"]
    result = RUNNER.invoke(app, [*args, "--scanners", "secret", "--ignorefile", str(ignorefile)])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["Results"]
    modified = [m for r in results for m in r.get("ExperimentalModifiedFindings", [])]
    assert {m["Finding"]["RuleID"] for m in modified} == {"aws-access-key-id", "github-pat"}
    assert {m["Status"] for m in modified} == {"ignored"}
    secrets = {s["RuleID"] for r in results for s in r.get("Secrets", [])}
    assert secrets == {"private-key"}
