"""VEX: OpenVEX and CycloneDX VEX documents suppress findings per product and vulnerability,
and every report lists them as suppressed with the status and justification."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.model.inventory import Ecosystem, Finding, Package, ScanResult, Severity
from stockade.scan.vex import VexError, apply_vex, load_vex
from stockade.scan.vulndb import import_location, open_db

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def vuln_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """PyPI and npm advisories of the corpus, imported."""
    path = tmp_path_factory.mktemp("vex-db") / "vulndb.sqlite"
    db = open_db(path, create=True)
    for location in ("vulndb/osv-pypi", "vulndb/nodejs-security-wg"):
        import_location(db, str(corpus / location))
    db.close()
    yield path


def _manifest_digest(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        digest: str = json.load(member)["manifests"][0]["digest"]
    return digest


def _openvex(image_digest: str) -> dict[str, Any]:
    image = f"pkg:oci/debian12-app@{image_digest.replace(':', '%3A')}"
    other_image = "pkg:oci/other@sha256%3A" + "0" * 64

    def statement(vuln: str, status: str, products: list[Any], **extra: str) -> dict[str, Any]:
        return {"vulnerability": {"name": vuln}, "products": products, "status": status, **extra}

    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/2026-12-07",
        "author": "Platform team",
        "timestamp": "2026-12-07T00:00:00Z",
        "version": 1,
        "statements": [
            statement(  # by its CVE alias, for this image's requests
                "CVE-2018-18074",
                "not_affected",
                [{"@id": image, "subcomponents": [{"@id": "pkg:pypi/requests@2.19.0"}]}],
                justification="vulnerable_code_not_in_execute_path",
                impact_statement="the app never follows redirects",
            ),
            statement(  # another image: says nothing about this one
                "PYSEC-2019-217", "not_affected", [{"@id": other_image}]
            ),
            statement(  # the whole image, by its digest, then taken back: the last one wins
                "PYSEC-2020-96", "not_affected", [{"@id": image_digest}]
            ),
            statement("PYSEC-2020-96", "affected", [{"@id": image_digest}]),
            statement("NSWG-ECO-516", "fixed", [{"@id": "pkg:npm/lodash"}]),  # a package alone
        ],
    }


def _cyclonedx_vex() -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "vulnerabilities": [
            {
                "id": "PYSEC-2023-192",
                "analysis": {
                    "state": "not_affected",
                    "justification": "code_not_reachable",
                    "detail": "cookies are never sent across origins here",
                },
                "affects": [{"ref": "urn:cdx:3e671687/1#pkg:pypi/urllib3@1.24.1"}],
            },
            {
                "id": "PYSEC-2024-60",
                "analysis": {"state": "in_triage"},
                "affects": [{"ref": "pkg:pypi/idna@2.7"}],
            },
        ],
    }


def test_vex_documents_suppress_in_every_report(
    corpus_image: Path, vuln_db: Path, tmp_path: Path
) -> None:
    openvex, cdx_vex = tmp_path / "app.openvex.json", tmp_path / "app.cdx-vex.json"
    openvex.write_text(json.dumps(_openvex(_manifest_digest(corpus_image))))
    cdx_vex.write_text(json.dumps(_cyclonedx_vex()))
    reports = {f: tmp_path / f"report.{f}" for f in ("json", "cyclonedx-json", "sarif")}
    reports["trivy-json"] = tmp_path / "report.trivy.json"
    result = RUNNER.invoke(
        app,
        [
            *("scan", "image", f"oci-archive:{corpus_image}", "--no-cache"),
            *("--scanners", "vuln", "--db", str(vuln_db)),
            *("--vex", str(openvex), "--vex", str(cdx_vex), "-o", "table"),
            *(arg for fmt, path in reports.items() for arg in ("-o", f"{fmt}={path}")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "suppressed (not_affected, vulnerable_code_not_in_execute_path): PYSEC-2018-28" in (
        result.stdout
    )

    report = json.loads(reports["json"].read_text())
    found = {f["id"] for f in report["findings"]}
    hidden = {s["finding"]["id"]: s for s in report["suppressed"]}
    assert set(hidden) == {"PYSEC-2018-28", "NSWG-ECO-516", "PYSEC-2023-192"}
    assert {"PYSEC-2019-217", "PYSEC-2020-96", "PYSEC-2024-60", "PYSEC-2023-74"} <= found
    assert not found & set(hidden)
    requests = hidden["PYSEC-2018-28"]
    assert (requests["status"], requests["justification"]) == (
        "not_affected",
        "vulnerable_code_not_in_execute_path",
    )
    assert requests["statement"] == "the app never follows redirects"
    assert requests["source"] == f"{openvex}: statements[1]"
    assert hidden["NSWG-ECO-516"]["status"] == "fixed"
    assert hidden["PYSEC-2023-192"]["source"] == f"{cdx_vex}: vulnerabilities[1]"

    bom = json.loads(reports["cyclonedx-json"].read_text())
    analysed = {v["id"]: v["analysis"] for v in bom["vulnerabilities"] if "analysis" in v}
    assert analysed["PYSEC-2018-28"]["state"] == "not_affected"
    assert analysed["PYSEC-2018-28"]["justification"] == "code_not_reachable"
    assert analysed["NSWG-ECO-516"]["state"] == "resolved"
    assert analysed["PYSEC-2023-192"]["justification"] == "code_not_reachable"

    sarif = json.loads(reports["sarif"].read_text())["runs"][0]["results"]
    suppressed = {r["ruleId"]: r["suppressions"][0] for r in sarif if "suppressions" in r}
    assert set(suppressed) == set(hidden)
    assert "vulnerable_code_not_in_execute_path" in suppressed["PYSEC-2018-28"]["justification"]

    trivy = json.loads(reports["trivy-json"].read_text())
    modified = [m for r in trivy["Results"] for m in r.get("ExperimentalModifiedFindings", [])]
    assert {m["Finding"]["VulnerabilityID"]: m["Status"] for m in modified} == {
        "PYSEC-2018-28": "not_affected",
        "NSWG-ECO-516": "fixed",
        "PYSEC-2023-192": "not_affected",
    }


def test_unit_matching_by_package_purl_without_an_image() -> None:
    package = Package(name="urllib3", version="1.24.1", ecosystem=Ecosystem.PYPI)
    finding = Finding(
        kind="vulnerability",
        id="PYSEC-2021-108",
        severity=Severity.HIGH,
        target="urllib3",
        installed_version="1.24.1",
        references=("CVE-2021-33503",),
    )
    older = Finding(**{**_fields(finding), "installed_version": "1.20"})
    result = ScanResult(target="dir:/srv", packages=[package], findings=[finding, older])
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "statements": [
            {
                "vulnerability": "CVE-2021-33503",  # OpenVEX 0.0.x: a plain string
                "products": ["pkg:pypi/urllib3@1.24.1"],
                "status": "not_affected",
                "justification": "inline_mitigations_already_exist",
            }
        ],
    }
    statements = _load(doc)
    apply_vex(result, statements)
    assert [s.finding for s in result.suppressed] == [finding]
    assert result.findings == [older]  # a version the statement does not name


def _fields(finding: Finding) -> dict[str, Any]:
    return {f: getattr(finding, f) for f in finding.__struct_fields__}


def _load(doc: dict[str, Any]) -> list[Any]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        handle.write(json.dumps(doc))
        handle.flush()
        return load_vex(Path(handle.name))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"statements": []}', "neither OpenVEX"),
        ('{"@context": "https://openvex.dev/ns/v0.2.0"}', "needs a `statements` list"),
        (
            '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fixed"}]}',
            "statements[1]: needs `vulnerability`",
        ),
    ],
)
def test_bad_documents_are_one_line_errors(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.vex.json"
    path.write_text(content)
    with pytest.raises(VexError, match=re.escape(message)) as caught:
        load_vex(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    cli = RUNNER.invoke(app, ["scan", "fs", str(tmp_path), "--scanners", "pkg", "--vex", str(path)])
    assert cli.exit_code == 2
    assert str(path) in cli.output and "Traceback" not in cli.output
