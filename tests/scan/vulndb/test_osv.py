"""OSV records: ranges, versions, withdrawn, aliases, severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model.inventory import Severity
from stockade.scan.vulndb import FORMATS, RangeEvent
from stockade.scan.vulndb.importer import parse_document
from stockade.scan.vulndb.osv import advisory_from_osv
from stockade.scan.vulndb.severity import base_score, from_rating, from_score

OSV = FORMATS.get("osv")

RECORD = {
    "id": "GHSA-xxxx-yyyy-zzzz",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2024-0001"],
    "summary": "Bad thing",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "left-pad"},
            "ranges": [
                {
                    "type": "SEMVER",
                    "events": [
                        {"introduced": "1.0.0"},
                        {"last_affected": "1.2.0"},
                        {"limit": "2.0.0"},
                    ],
                },
                {
                    "type": "GIT",
                    "repo": "https://example.org/x.git",
                    "events": [{"introduced": "abc"}],
                },
            ],
            "versions": ["1.0.0", "1.1.0"],
            "database_specific": {"severity": "MODERATE"},
        },
        {"ranges": []},
    ],
    "references": [{"type": "WEB", "url": "https://example.org/advisory"}, {"type": "WEB"}],
}


def test_osv_record_fields() -> None:
    assert OSV.accepts(RECORD)
    (adv,) = OSV.advisories(RECORD)
    assert adv.id == "GHSA-xxxx-yyyy-zzzz" and adv.aliases == ("CVE-2024-0001",)
    assert adv.cvss_score == pytest.approx(9.8) and adv.severity is Severity.CRITICAL
    assert adv.references == ("https://example.org/advisory",)
    (affected,) = adv.affected  # the entry without a package is dropped
    assert affected.ecosystem == "npm" and affected.name == "left-pad"
    assert [r.type for r in affected.ranges] == ["SEMVER"]  # GIT ranges carry commits
    assert affected.ranges[0].events == (
        RangeEvent(introduced="1.0.0"),
        RangeEvent(last_affected="1.2.0"),
        RangeEvent(limit="2.0.0"),
    )
    assert affected.versions == ("1.0.0", "1.1.0")
    assert affected.severity is Severity.MEDIUM


def test_withdrawn_is_skipped() -> None:
    assert list(OSV.advisories({**RECORD, "withdrawn": "2024-02-02T00:00:00Z"})) == []


def test_rating_used_without_cvss() -> None:
    doc = {**RECORD, "severity": [], "database_specific": {"severity": "HIGH"}}
    adv = advisory_from_osv(doc)
    assert adv is not None and adv.severity is Severity.HIGH and adv.cvss_score == 0.0


def test_list_of_records() -> None:
    assert OSV.accepts([RECORD, RECORD])
    assert len(list(OSV.advisories([RECORD, RECORD]))) == 2


def test_real_yaml_record(corpus: Path) -> None:
    doc = parse_document(corpus / "vulndb/osv-pypi/vulns/requests/PYSEC-2018-28.yaml")
    (adv,) = OSV.advisories(doc)
    assert adv.id == "PYSEC-2018-28"
    assert "CVE-2018-18074" in adv.aliases
    assert adv.affected[0].ecosystem == "PyPI"
    assert RangeEvent(fixed="2.20.0") in adv.affected[0].ranges[0].events
    assert adv.modified  # YAML timestamps come back as text


def test_real_go_record(corpus: Path) -> None:
    doc = parse_document(corpus / "vulndb/golang-vulndb/osv/GO-2020-0001.json")
    (adv,) = OSV.advisories(doc)
    assert adv.affected[0].ecosystem == "Go"
    assert adv.affected[0].ranges[0].type == "SEMVER"


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L", 6.3),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N", 2.8),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
        ("garbage", 0.0),
    ],
)
def test_cvss_base_score(vector: str, score: float) -> None:
    assert base_score(vector) == pytest.approx(score)


def test_ratings() -> None:
    assert [from_score(s) for s in (9.0, 7.0, 4.0, 0.1, 0.0)] == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
        Severity.UNKNOWN,
    ]
    assert from_rating("MODERATE") is Severity.MEDIUM
    assert from_rating("medium**") is Severity.MEDIUM
    assert from_rating("not yet assigned") is Severity.UNKNOWN


def test_yaml_scalars_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "PYSEC-0000-1.yaml"
    path.write_text(
        "id: PYSEC-0000-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n"
        "- package: {name: demo, ecosystem: PyPI}\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n"
        "  versions: [1.0, 1.9]\n"
    )
    (adv,) = OSV.advisories(parse_document(path))
    assert adv.affected[0].ranges[0].events == (
        RangeEvent(introduced="0"),
        RangeEvent(fixed="1.10"),
    )
    assert adv.affected[0].versions == ("1.0", "1.9")
    assert adv.modified == "2024-01-01T00:00:00Z"
