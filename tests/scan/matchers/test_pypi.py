"""The test image's Python packages against osv-pypi: exactly what OSV's ranges say."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB

IMAGE_PYTHON = {
    "requests": "2.19.0",
    "urllib3": "1.24.1",
    "Jinja2": "2.10",
    "MarkupSafe": "1.1.1",
    "idna": "2.7",
    "chardet": "3.0.4",
    "certifi": "2018.4.16",
    "PyYAML": "5.3",
}


def _key(version: str) -> Version | None:
    """None stands for the "0" that sorts before every version."""
    return None if version == "0" else Version(version)


def _intervals(events: list[dict[str, str]]) -> list[tuple[Version | None, Version | None, bool]]:
    """[(start, end, end_inclusive)] built by walking the events in version order."""
    ordered = sorted(events, key=lambda e: (_key(next(iter(e.values()))) or Version("0"), 0))
    out, start, open_ = [], None, False
    for event in ordered:
        ((kind, version),) = event.items()
        if kind == "introduced" and not open_:
            start, open_ = _key(version), True
        elif kind in ("fixed", "last_affected") and open_:
            out.append((start, Version(version), kind == "last_affected"))
            open_ = False
    if open_:
        out.append((start, None, False))
    return out


def reference_affects(record: dict, name: str, version: str) -> bool:
    """A plain reading of the OSV schema: listed versions, or inside an introduced..fixed span."""
    installed = Version(version)
    for affected in record.get("affected", []):
        package = affected["package"]
        if package["ecosystem"] != "PyPI":
            continue
        if canonicalize_name(package["name"]) != canonicalize_name(name):
            continue
        if version in affected.get("versions", []):
            return True
        for rng in affected.get("ranges", []):
            if rng["type"] != "ECOSYSTEM":
                continue
            try:
                spans = _intervals(rng["events"])
            except InvalidVersion:
                continue
            for start, end, inclusive in spans:
                above = start is None or installed >= start
                below = end is None or installed < end or (inclusive and installed == end)
                if above and below:
                    return True
    return False


def expected_ids(corpus: Path, name: str, version: str) -> set[str]:
    """Ids of every non-withdrawn osv-pypi record that affects name==version."""
    folder = corpus / "vulndb/osv-pypi/vulns" / canonicalize_name(name)
    out = set()
    for path in folder.glob("*.yaml"):
        record = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        if not record.get("withdrawn") and reference_affects(record, name, version):
            out.add(record["id"])
    return out


def test_image_python_packages_match_exactly(corpus: Path, pypi_db: VulnDB) -> None:
    packages = [
        Package(name=n, version=v, ecosystem=Ecosystem.PYPI, path=f"site-packages/{n}")
        for n, v in IMAGE_PYTHON.items()
    ]
    findings = match_packages(packages, "debian 12", pypi_db)
    got = {(f.target, f.id) for f in findings}
    want = {(n, i) for n, v in IMAGE_PYTHON.items() for i in expected_ids(corpus, n, v)}
    assert got == want
    assert len(findings) == len(got)  # no duplicates
    # checked by hand against the records
    assert ("requests", "PYSEC-2018-28") in got  # fixed 2.20.0
    assert ("urllib3", "PYSEC-2019-133") in got  # fixed 1.24.2
    assert ("PyYAML", "PYSEC-2021-142") in got  # fixed 5.4
    assert ("requests", "PYSEC-2014-13") not in got  # fixed 2.3.0


def test_finding_fields(pypi_db: VulnDB) -> None:
    package = Package(name="urllib3", version="1.24.1", ecosystem=Ecosystem.PYPI)
    by_id = {f.id: f for f in match_packages([package], "", pypi_db)}
    rated = by_id["PYSEC-2023-192"]
    assert rated.kind == "vulnerability"
    assert rated.cvss_score == pytest.approx(8.1)
    assert rated.severity.name == "HIGH"
    assert rated.fixed_version == "1.26.17"
    assert "CVE-2023-43804" in rated.references
    assert rated.installed_version == "1.24.1" and rated.target == "urllib3"
    assert by_id["PYSEC-2019-133"].fixed_version == "1.24.2"


def test_name_normalisation(pypi_db: VulnDB) -> None:
    spellings = ["jinja2", "Jinja2", "JINJA2"]
    results = [
        {
            f.id
            for f in match_packages(
                [Package(name=s, version="2.10", ecosystem=Ecosystem.PYPI)], "", pypi_db
            )
        }
        for s in spellings
    ]
    assert results[0] and all(r == results[0] for r in results)


def test_unparsable_version_matches_nothing(pypi_db: VulnDB) -> None:
    package = Package(name="requests", version="not a version", ecosystem=Ecosystem.PYPI)
    assert match_packages([package], "", pypi_db) == []
