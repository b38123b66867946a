"""Go modules against the Go vulnerability database; RPMs against AlmaLinux/Rocky OSV records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB, import_location, open_db

TESTDATA = Path(__file__).parent / "testdata"


@pytest.fixture(scope="module")
def go_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDB]:
    db = open_db(tmp_path_factory.mktemp("go") / "v.sqlite", create=True)
    import_location(db, str(corpus / "vulndb/golang-vulndb"))
    yield db
    db.close()


def go(name: str, version: str) -> Package:
    return Package(name=name, version=version, ecosystem=Ecosystem.GO, path="/app/server")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # checked by hand: GO-2020-0015 fixed 0.3.3, GO-2021-0113 0.3.7, GO-2022-1059 0.3.8,
        # GO-2026-5970 0.39.0 (all introduced at 0)
        ("v0.3.2", {"GO-2020-0015", "GO-2021-0113", "GO-2022-1059", "GO-2026-5970"}),
        ("v0.3.3", {"GO-2021-0113", "GO-2022-1059", "GO-2026-5970"}),
        ("v0.3.8", {"GO-2026-5970"}),
        (
            "v0.0.0-20170915032832-14c0d48ead0c",
            {"GO-2020-0015", "GO-2021-0113", "GO-2022-1059", "GO-2026-5970"},
        ),
        ("v0.39.0", set()),
    ],
)
def test_go_module(go_db: VulnDB, version: str, expected: set[str]) -> None:
    found = match_packages([go("golang.org/x/text", version)], "", go_db)
    assert {f.id for f in found} == expected


def test_go_stdlib(go_db: VulnDB) -> None:
    old = {f.id for f in match_packages([go("stdlib", "v1.20.5")], "", go_db)}
    newer = {f.id for f in match_packages([go("stdlib", "v1.20.6")], "", go_db)}
    assert "GO-2023-1878" in old  # net/http: fixed in 1.20.6
    assert "GO-2023-1878" not in newer
    assert newer < old


def test_go_incompatible(go_db: VulnDB) -> None:
    old = go("github.com/docker/distribution", "v2.6.2+incompatible")
    fixed = go("github.com/docker/distribution", "v2.7.0+incompatible")
    assert "GO-2021-0072" in {f.id for f in match_packages([old], "", go_db)}
    assert "GO-2021-0072" not in {f.id for f in match_packages([fixed], "", go_db)}


@pytest.fixture(scope="module")
def alma_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDB]:
    db = open_db(tmp_path_factory.mktemp("alma") / "v.sqlite", create=True)
    import_location(db, str(TESTDATA / "almalinux-osv"))
    yield db
    db.close()


def rpm(name: str, version: str, distro: str = "almalinux:9") -> Package:
    return Package(name=name, version=version, ecosystem=Ecosystem.RPM, distro=distro)


def test_rpm_epoch_and_release(alma_db: VulnDB) -> None:
    old = rpm("openssl-libs", "1:3.0.7-24.el9")
    (finding,) = match_packages([old], "almalinux 9.3", alma_db)
    assert (finding.id, finding.fixed_version) == ("ALSA-2024:2447", "1:3.0.7-27.el9")
    assert "CVE-2023-5678" in finding.references
    assert match_packages([rpm("openssl-libs", "1:3.0.7-27.el9")], "", alma_db) == []
    assert match_packages([rpm("openssl-libs", "1:3.0.7-27.el9_4.1")], "", alma_db) == []


def test_rpm_other_distros_unmatched(alma_db: VulnDB) -> None:
    assert match_packages([rpm("openssl-libs", "1:3.0.7-24.el9", "rhel:9")], "", alma_db) == []
    assert match_packages([rpm("openssl-libs", "1:3.0.7-24.el9", "almalinux:8")], "", alma_db) == []
