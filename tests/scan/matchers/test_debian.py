"""Debian matching by source package and release, on tracker JSON and Debian OSV records."""

from __future__ import annotations

import pytest

from stockade.model.inventory import Ecosystem, Finding, LayerRef, Package, Severity
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB

LAYER = LayerRef(digest="sha256:aaaa", created_by="debootstrap")


def deb(
    name: str, version: str, source: str = "", source_version: str = "", distro: str = ""
) -> Package:
    return Package(
        name=name,
        version=version,
        ecosystem=Ecosystem.DEBIAN,
        source_name=source,
        source_version=source_version,
        distro=distro,
        path="/var/lib/dpkg/status",
        layer=LAYER,
    )


BOOKWORM = [
    deb("libssl3", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"),
    deb("libc6", "2.36-9+deb12u1", "glibc", "2.36-9+deb12u1"),
    deb("libc-bin", "2.36-9+deb12u1", "glibc", "2.36-9+deb12u1"),
    deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"),
    deb("apt", "2.6.1"),
    deb("libtiff6", "4.5.0-6", "tiff", "4.5.0-6"),
]


@pytest.fixture(scope="module")
def bookworm(debian_db: VulnDB) -> dict[tuple[str, str], Finding]:
    findings = match_packages(BOOKWORM, "debian 12", debian_db)
    by_key = {(f.target, f.id): f for f in findings}
    assert len(by_key) == len(findings)
    return by_key


def test_exact_finding_set(bookworm: dict[tuple[str, str], Finding]) -> None:
    assert set(bookworm) == {
        ("libssl3", "CVE-2023-5678"),  # fixed in ~deb12u2, installed ~deb12u1
        ("libc6", "CVE-2023-4911"),
        ("libc-bin", "CVE-2023-4911"),
        ("libc6", "CVE-2010-4756"),  # open
        ("libc-bin", "CVE-2010-4756"),
        ("zlib1g", "CVE-2023-45853"),  # open, nodsa
        ("apt", "CVE-2011-3374"),  # open; apt is its own source
        ("libtiff6", "CVE-2023-52356"),  # found through the source name "tiff"
        ("libtiff6", "CVE-2023-6277"),  # undetermined
    }


def test_fixed_boundary_with_tilde(bookworm: dict[tuple[str, str], Finding]) -> None:
    # DSA-5532-1 and CVE-2023-5363 are fixed in exactly the installed 3.0.11-1~deb12u1
    assert ("libssl3", "DSA-5532-1") not in bookworm
    assert ("libssl3", "CVE-2023-5363") not in bookworm
    assert bookworm["libssl3", "CVE-2023-5678"].fixed_version == "3.0.11-1~deb12u2"


def test_epoch_orders_before_upstream(bookworm: dict[tuple[str, str], Finding]) -> None:
    # fixed in 1:1.2.11.dfsg-4.1: without the epoch 1.2.13 would look older
    assert ("zlib1g", "CVE-2022-37434") not in bookworm


def test_not_affected_marker_zero(bookworm: dict[tuple[str, str], Finding]) -> None:
    assert ("zlib1g", "CVE-2023-6992") not in bookworm


def test_unfixed_findings_have_no_fixed_version(bookworm: dict[tuple[str, str], Finding]) -> None:
    apt = bookworm["apt", "CVE-2011-3374"]
    assert apt.fixed_version == ""
    assert apt.severity is Severity.LOW  # urgency "unimportant"
    assert "open" in apt.description
    assert bookworm["libtiff6", "CVE-2023-6277"].fixed_version == ""


def test_finding_fields(bookworm: dict[tuple[str, str], Finding]) -> None:
    glibc = bookworm["libc6", "CVE-2023-4911"]
    assert glibc.fixed_version == "2.36-9+deb12u3"
    assert glibc.severity is Severity.HIGH
    assert glibc.installed_version == "2.36-9+deb12u1"
    assert glibc.layer == LAYER and glibc.path == "/var/lib/dpkg/status"
    assert glibc.title.startswith("A buffer overflow")
    assert bookworm["libtiff6", "CVE-2023-52356"].severity is Severity.MEDIUM  # "medium**"


def test_tracker_and_osv_duplicates_merge(bookworm: dict[tuple[str, str], Finding]) -> None:
    # DEBIAN-CVE-2023-4911 derives from CVE-2023-4911, already reported from the tracker
    assert ("libc6", "DEBIAN-CVE-2023-4911") not in bookworm


def test_osv_alone_matches(debian_db: VulnDB) -> None:
    pkg = deb("libssl3", "3.0.10-1~deb12u1", "openssl", "3.0.10-1~deb12u1")
    ids = {f.id: f.fixed_version for f in match_packages([pkg], "debian 12", debian_db)}
    assert ids == {
        "DSA-5532-1": "3.0.11-1~deb12u1",
        "CVE-2023-5363": "3.0.11-1~deb12u1",
        "CVE-2023-5678": "3.0.11-1~deb12u2",
    }


def test_release_matters(debian_db: VulnDB) -> None:
    pkg = deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3")
    on_bullseye = {f.id for f in match_packages([pkg], "debian 11", debian_db)}
    assert on_bullseye == {"CVE-2023-5678", "DLA-3325-1"}  # CVE-2021-3711 fixed in 1.1.1k-1+deb11u1
    # the package's own distro wins over the scan's OS
    tagged = deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3", distro="debian:11")
    assert {f.id for f in match_packages([tagged], "debian 12", debian_db)} == on_bullseye
    assert match_packages([pkg], "alpine 3.20", debian_db) == []
    assert match_packages([pkg], "", debian_db) == []
