"""The test image's Python packages against osv-pypi: exactly what OSV's ranges say."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB
from tests.scan.matchers.references import IMAGE_PYTHON, expected_ids


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
