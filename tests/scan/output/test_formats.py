"""Each output format, validated with its own library or schema."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from stockade.model.inventory import PackageFile, ScanResult
from stockade.scan.output import FORMATS, OutputError, write
from tests.scan.output.sarif import assert_valid_sarif


def test_formats_known() -> None:
    assert set(FORMATS) == {
        *("json", "sarif", "cyclonedx", "cyclonedx-json"),
        *("spdx-json", "spdx", "spdx-tag-value", "trivy-json"),
    }
    with pytest.raises(OutputError, match="unknown output format"):
        write(ScanResult(target="x"), "xml")


def test_fixture_has_findings_of_each_ecosystem(scan_result: ScanResult) -> None:
    targets = {f.target for f in scan_result.findings}
    assert {"requests", "lodash", "libssl3", "apt"} <= targets


def test_json_round_trips(scan_result: ScanResult) -> None:
    doc = json.loads(write(scan_result, "json"))
    assert doc["schema"] == "stockade.scan.v1"
    assert doc["target"] == scan_result.target
    assert len(doc["packages"]) == len(scan_result.packages)
    assert len(doc["findings"]) == len(scan_result.findings)
    assert {f["severity"] for f in doc["findings"]} <= {
        "UNKNOWN",
        "LOW",
        "MEDIUM",
        "HIGH",
        "CRITICAL",
    }


def test_sarif_valid(scan_result: ScanResult, sarif_schema: dict[str, Any]) -> None:
    log = json.loads(write(scan_result, "sarif"))
    assert_valid_sarif(log, sarif_schema)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) == len({f.id for f in scan_result.findings})
    assert len(run["results"]) == len(scan_result.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    secret = by_rule["aws-access-key-id"]
    assert secret["level"] == "error"
    assert secret["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/.env"},
        "region": {"startLine": 2},
    }
    apt = by_rule["CVE-2011-3374"]  # urgency unimportant -> LOW
    assert apt["level"] == "note"
    assert apt["locations"][0]["logicalLocations"] == [{"name": "apt@2.6.1", "kind": "package"}]


def test_cyclonedx_valid(scan_result: ScanResult) -> None:
    text = write(scan_result, "cyclonedx").decode()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    purls = {c["purl"] for c in bom["components"] if c["type"] == "library"}
    assert "pkg:pypi/requests@2.19.0" in purls
    assert "pkg:npm/%40types/node@20.1.0" in purls
    assert "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12" in purls
    node = next(c for c in bom["components"] if c["purl"].startswith("pkg:npm/%40types/node"))
    assert (node["group"], node["name"]) == ("@types", "node")  # the ecosystem table's split
    lodash = next(c for c in bom["components"] if c["name"] == "lodash")
    assert "group" not in lodash
    assert lodash["licenses"] == [{"license": {"id": "MIT"}}]
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert set(vulns) == {f.id for f in scan_result.findings if f.kind == "vulnerability"}
    refs = {c["bom-ref"]: c["name"] for c in bom["components"]}
    assert [refs[a["ref"]] for a in vulns["PYSEC-2018-28"]["affects"]] == ["requests"]
    assert vulns["PYSEC-2018-28"]["recommendation"] == "Upgrade: requests 2.20.0"


def test_spdx_valid(scan_result: ScanResult, tmp_path: Path) -> None:
    path = tmp_path / "sbom.spdx.json"
    path.write_bytes(write(scan_result, "spdx-json"))
    document = parse_file(str(path))
    assert validate_full_spdx_document(document) == []
    assert document.creation_info.spdx_version == "SPDX-2.3"
    names = {p.name for p in document.packages}
    assert {"requests", "libssl3", "lodash", "@types/node"} <= names
    purls = {
        ref.locator
        for p in document.packages
        for ref in p.external_references
        if ref.reference_type == "purl"
    }
    assert "pkg:pypi/requests@2.19.0" in purls
    contains = [r for r in document.relationships if r.relationship_type.name == "CONTAINS"]
    assert len(contains) == len(scan_result.packages) + bool(scan_result.os)  # + the OS
    declared = {p.name: str(p.license_declared) for p in document.packages}
    assert declared["@types/node"] == "MIT OR Apache-2.0"
    assert declared["requests"] == "Apache-2.0"  # its metadata says "Apache 2.0"
    assert declared["Jinja2"] == "LicenseRef-BSD"  # "BSD" names no SPDX licence
    extracted = {e.license_id: e.extracted_text for e in document.extracted_licensing_info}
    assert extracted["LicenseRef-BSD"] == "BSD"


def test_spdx_lists_hashed_files_with_a_verification_code(
    scan_result: ScanResult, tmp_path: Path
) -> None:
    present = (
        PackageFile(path="/usr/lib/libssl.so.3", md5="1" * 32, sha1="a" * 40, sha256="b" * 64),
        PackageFile(path="/etc/ssl/openssl.cnf", sha1="c" * 40, sha256="d" * 64),
    )
    missing = PackageFile(path="/usr/share/doc/libssl3/changelog.gz", md5="2" * 32)
    packages = [
        msgspec.structs.replace(p, files=(*present, missing)) if p.name == "libssl3" else p
        for p in scan_result.packages
    ]
    result = msgspec.structs.replace(scan_result, packages=packages)
    for fmt, name in (("spdx-json", "sbom.spdx.json"), ("spdx", "sbom.spdx")):
        (tmp_path / name).write_bytes(write(result, fmt))
        document = parse_file(str(tmp_path / name))
        assert validate_full_spdx_document(document) == [], fmt
        libssl = next(p for p in document.packages if p.name == "libssl3")
        assert libssl.files_analyzed and libssl.verification_code is not None
        assert libssl.verification_code.value == hashlib.sha1(b"a" * 40 + b"c" * 40).hexdigest()
        assert libssl.verification_code.excluded_files == ["./usr/share/doc/libssl3/changelog.gz"]
        files = {f.name: {c.algorithm.name: c.value for c in f.checksums} for f in document.files}
        assert files == {
            "./usr/lib/libssl.so.3": {"SHA1": "a" * 40, "SHA256": "b" * 64, "MD5": "1" * 32},
            "./etc/ssl/openssl.cnf": {"SHA1": "c" * 40, "SHA256": "d" * 64},
        }
        contains = {
            r.related_spdx_element_id
            for r in document.relationships
            if r.spdx_element_id == libssl.spdx_id and r.relationship_type.name == "CONTAINS"
        }
        assert contains == {f.spdx_id for f in document.files}
        # packages whose database lists no files stay unanalyzed
        assert not next(p for p in document.packages if p.name == "lodash").files_analyzed
