"""Debian tracker, Alpine secdb and Node.js security-wg documents."""

from __future__ import annotations

from pathlib import Path

from stockade.model.inventory import Severity
from stockade.scan.vulndb import FORMATS, RangeEvent
from stockade.scan.vulndb.formats import detect
from stockade.scan.vulndb.importer import parse_document

TRACKER = Path(__file__).parent.parent / "matchers/testdata/debian-tracker.json"

SECDB = {
    "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
    "archs": ["x86_64", "aarch64"],
    "reponame": "main",
    "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
    "distroversion": "v3.18",
    "packages": [
        {
            "pkg": {
                "name": "openssl",
                "secfixes": {
                    "3.1.4-r0": ["CVE-2023-5363"],
                    "3.1.4-r1": ["CVE-2023-5678"],
                    "0": ["CVE-2022-3358"],
                },
            }
        },
        {"pkg": {"name": "busybox", "secfixes": {"1.36.1-r2": ["CVE-2022-48174 ALPINE-13661"]}}},
    ],
}


def test_tracker() -> None:
    doc = parse_document(TRACKER)
    fmt = detect(doc)
    assert fmt is not None and fmt.name == "debian-tracker"
    advisories = {a.id: a for a in fmt.advisories(doc)}
    # CVE-2023-6992 is fixed_version "0" everywhere: nothing affected, no advisory
    assert "CVE-2023-6992" not in advisories
    cve = advisories["CVE-2023-5678"]
    by_release = {a.ecosystem: a for a in cve.affected}
    assert set(by_release) == {"Debian:12", "Debian:11"}  # sid is not a release
    assert by_release["Debian:12"].name == "openssl"
    assert by_release["Debian:12"].ranges[0].events == (
        RangeEvent(introduced="0"),
        RangeEvent(fixed="3.0.11-1~deb12u2"),
    )
    apt = advisories["CVE-2011-3374"].affected[0]
    assert apt.status == "open" and apt.severity is Severity.LOW
    assert apt.ranges[0].events == (RangeEvent(introduced="0"),)
    both = advisories["CVE-2023-5363"].affected
    assert [a.ecosystem for a in both] == ["Debian:12"]  # bullseye: fixed_version "0"


def test_alpine_secdb() -> None:
    fmt = detect(SECDB)
    assert fmt is not None and fmt.name == "alpine-secdb"
    advisories = {a.id: a for a in fmt.advisories(SECDB)}
    assert set(advisories) == {"CVE-2023-5363", "CVE-2023-5678", "CVE-2022-48174", "ALPINE-13661"}
    affected = advisories["CVE-2023-5678"].affected[0]
    assert affected.ecosystem == "Alpine:v3.18" and affected.name == "openssl"
    assert affected.ranges[0].events[-1] == RangeEvent(fixed="3.1.4-r1")


def test_nodejs_wg(corpus: Path) -> None:
    doc = parse_document(corpus / "vulndb/nodejs-security-wg/vuln/npm/1.json")
    fmt = detect(doc)
    assert fmt is not None and fmt.name == "nodejs-wg"
    (adv,) = fmt.advisories(doc)
    assert adv.id == "CVE-2014-7205" and adv.aliases == ("NSWG-ECO-1",)
    assert adv.cvss_score == 6.5 and adv.severity is Severity.MEDIUM
    (affected,) = adv.affected
    assert (affected.ecosystem, affected.name) == ("npm", "bassmaster")
    assert affected.ranges[0].type == "NPM"
    assert affected.ranges[0].expression == "<=1.5.1"
    assert affected.ranges[0].fixed_expression == ">=1.5.2"


def test_nodejs_core_recognised_and_skipped(corpus: Path) -> None:
    doc = parse_document(corpus / "vulndb/nodejs-security-wg/vuln/core/1.json")
    fmt = detect(doc)
    assert fmt is not None and fmt.name == "nodejs-core"
    assert list(fmt.advisories(doc)) == []


def test_unknown_document() -> None:
    assert detect({"hello": "world"}) is None
    assert detect([1, 2]) is None
    assert "osv" in FORMATS
