"""Gems are matched: an installed gem's version against a RubyGems OSV record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package, Severity
from stockade.scan.matchers import match_packages
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from stockade.scan.vulndb import VulnDB, import_location, open_db
from tests.scan.imagebuild import LayerSpec, write_oci_layout

TESTDATA = Path(__file__).parent / "testdata"
ADVISORY = "GHSA-3h57-hmj3-gj3p"
GEMSPEC = b'Gem::Specification.new do |s|\n  s.name = "rack"\n  s.version = "2.2.6.2"\nend\n'


@pytest.fixture(scope="module")
def gems_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gems") / "vulndb.sqlite"
    db = open_db(path, create=True)
    import_location(db, str(TESTDATA / "rubygems-osv"))
    db.close()
    return path


@pytest.fixture
def gems_db(gems_db_path: Path) -> Iterator[VulnDB]:
    db = open_db(gems_db_path)
    yield db
    db.close()


@pytest.mark.parametrize(
    ("version", "fixed"),
    [
        ("2.2.6.2", "2.2.6.3"),
        ("2.2.6.3", None),
        ("2.1.4", "2.1.4.3"),
        ("3.0.4.2", None),
        ("3.0.0.beta1", None),  # a prerelease sorts before 3.0.0, past the 2.2 fix
        ("1.6.13", "2.0.9.3"),
    ],
)
def test_rack_versions_against_the_advisory(
    gems_db: VulnDB, version: str, fixed: str | None
) -> None:
    rack = Package(name="rack", version=version, ecosystem=Ecosystem.RUBYGEMS, path="x.gemspec")
    findings = match_packages([rack], "", gems_db)
    if fixed is None:
        assert findings == []
    else:
        assert [(f.id, f.fixed_version, f.severity) for f in findings] == [
            (ADVISORY, fixed, Severity.HIGH)
        ]


def test_an_image_scan_reports_the_gems_vulnerability(tmp_path: Path, gems_db_path: Path) -> None:
    layer = LayerSpec(
        files={"usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.6.2.gemspec": GEMSPEC}
    )
    layout = write_oci_layout(tmp_path / "img", [layer])
    options = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.VULN}), db_path=gems_db_path)
    result = scan_image(f"oci:{layout}", options)
    assert [p.purl for p in result.packages] == ["pkg:gem/rack@2.2.6.2"]
    assert [(f.id, f.target, f.fixed_version) for f in result.findings] == [
        (ADVISORY, "rack", "2.2.6.3")
    ]
