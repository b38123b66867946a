"""`stockade scan image|fs`: formats, severity filter, exit codes, errors."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.scan.jsonreport import decode_report
from stockade.scan.output import WRITERS
from tests.scan.imagebuild import LayerSpec, write_oci_layout

RUNNER = CliRunner()


def _image_args(corpus_image: Path, *extra: str) -> list[str]:
    return ["scan", "image", f"oci-archive:{corpus_image}", "--no-cache", *extra]


def test_json_report_is_a_scan_result(corpus_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = RUNNER.invoke(
        app,
        _image_args(
            corpus_image, "--format", "json", "--output", str(out), "--scanners", "pkg,secret"
        ),  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_bytes())
    assert doc["schema"] == "stockade.scan.v1"
    assert {f["severity"] for f in doc["findings"]} <= {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
    report = decode_report(out.read_bytes())
    assert len(report.packages) == 150
    assert {f.id for f in report.findings} == {"aws-access-key-id", "github-pat", "private-key"}


def test_formats_come_from_the_report_writers(tmp_path: Path) -> None:
    fs = ["scan", "fs", str(tmp_path), "--scanners", "pkg,secret", "--no-cache"]
    unknown = RUNNER.invoke(app, [*fs, "-f", "xml"])
    assert unknown.exit_code == 2
    for name in ("table", *WRITERS):
        assert name in unknown.output
    for name in WRITERS:  # every registered writer is a format, with no list to keep in step
        written = RUNNER.invoke(app, [*fs, "-f", name])
        assert written.exit_code == 0, (name, written.output)
        assert written.stdout_bytes.strip()


def test_severity_filter_and_exit_code(corpus_image: Path) -> None:
    result = RUNNER.invoke(
        app,
        _image_args(
            corpus_image,
            "--format",
            "json",
            "--severity",
            "CRITICAL",
            "--scanners",
            "secret",
            "--exit-code",
            "3",
        ),  # fmt: skip
    )
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert sorted(f["id"] for f in report["findings"]) == ["aws-access-key-id", "github-pat"]


def test_table_and_sarif(corpus_image: Path, tmp_path: Path) -> None:
    table = RUNNER.invoke(app, _image_args(corpus_image, "--scanners", "pkg,secret,misconfig"))
    assert table.exit_code == 0, table.output
    assert "debian 12.15" in table.stdout and "DS-0002" in table.stdout
    assert "AKIANLMUXO6TPWZYTUIV" not in table.stdout
    sarif = tmp_path / "r.sarif"
    result = RUNNER.invoke(
        app, _image_args(corpus_image, "-f", "sarif", "-o", str(sarif), "--scanners", "secret")
    )
    assert result.exit_code == 0, result.output
    assert json.loads(sarif.read_text())["runs"]


def test_fs_scan_with_skip_dirs(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "vendored").mkdir()
    token = "GH=ghp_" + "Zq8" * 12 + "\n"
    (tmp_path / "app" / "run.sh").write_text(token)
    (tmp_path / "vendored" / "run.sh").write_text(token)
    result = RUNNER.invoke(
        app,
        [
            "scan",
            "fs",
            str(tmp_path),
            "-f",
            "json",
            "--skip-dirs",
            "vendored",
            "--scanners",
            "secret",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["app/run.sh"]


def test_a_scan_turns_the_garbage_collector_back_on(tmp_path: Path) -> None:
    assert gc.isenabled()
    result = RUNNER.invoke(app, ["scan", "fs", str(tmp_path), "--scanners", "pkg", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()


def test_errors_are_reported_with_exit_code_two(tmp_path: Path) -> None:
    result = RUNNER.invoke(
        app, ["scan", "image", f"oci:{tmp_path}", "--no-cache", "--scanners", "pkg"]
    )
    assert result.exit_code == 2
    assert "no index.json" in result.output
    bad = RUNNER.invoke(app, ["scan", "image", f"oci:{tmp_path}", "--scanners", "nope"])
    assert bad.exit_code == 2


def test_rescan_from_cache_imports_only_what_the_cached_path_needs(tmp_path: Path) -> None:
    files = {"etc/os-release": b"ID=debian\nVERSION_ID=12\n", "app/.env": b"TOKEN=x\n"}
    layout = write_oci_layout(tmp_path / "layout", [LayerSpec(files=files)])
    command = [sys.executable, "-X", "importtime", "-m", "stockade.cli", "scan", "image"]
    args = [f"oci:{layout}", "--scanners", "pkg,secret", "-f", "json", "-o", os.devnull]
    args += ["--cache-dir", str(tmp_path / "cache")]

    def imported() -> set[str]:
        done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
        lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
        return {line.rsplit("|", 1)[1].strip() for line in lines}

    first, again = imported(), imported()
    assert {"stockade.scan.secrets.rules", "stockade.scan.walker"} <= first
    assert "yaml" not in first  # the built-in secret rules are Python data
    not_needed = {
        "yaml",
        "yara",
        "email.parser",
        "zipfile",
        "sqlite3",
        "isal",
        "zstandard",
        "rich",
        "stockade.scan.secrets.engine",
        "stockade.scan.secrets.rules",
        "stockade.scan.misconfig.engine",
        "cyclonedx",  # the json report comes from WRITERS; the other writers' libraries
        "spdx_tools",  # load only when their format is written
        "stockade.scan.vulndb",
        "stockade.scan.matchers",
    }
    assert not_needed & again == set()


def test_a_node_project_scan_imports_no_reader_it_does_not_use(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "left-pad"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}')
    (package / "index.js").write_text("module.exports = leftPad;\n")
    (tmp_path / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    command = [sys.executable, "-X", "importtime", "-m", "stockade.cli.scan", "fs", str(tmp_path)]
    args = ["--scanners", "pkg,secret", "-f", "json", "-o", str(tmp_path / "report.json")]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[1].strip() for line in lines}
    assert "stockade.scan.walker" in imported  # the import lines are read right
    not_needed = {"yaml", "yara", "xml.etree.ElementTree", "stockade.scan.analyzers.pom"}
    not_needed |= {"stockade.scan.analyzers.zipindex", "stockade.scan.analyzers.jar_archive"}
    # an image's readers, OpenSSL (nothing is hashed) and the agent's event model
    not_needed |= {"tarfile", "zstandard", "isal", "stockade.scan.sources", "hashlib"}
    not_needed |= {"stockade.scan.cache", "stockade.model.alerts", "stockade.model.events"}
    assert not_needed & imported == set()
    names = [p["name"] for p in json.loads((tmp_path / "report.json").read_text())["packages"]]
    assert names == ["left-pad"]
