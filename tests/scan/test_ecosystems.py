"""The ecosystem table: complete for every ecosystem an analyzer emits, and the one source of
versions, purls, lookup names and matchers."""

from __future__ import annotations

import pytest
from packageurl import PackageURL

from stockade.model.inventory import Ecosystem, Package, ScanResult
from stockade.scan.analyzers import ANALYZERS
from stockade.scan.ecosystems import ECOSYSTEMS, spec_for_advisories
from stockade.scan.matchers import MATCHERS
from stockade.scan.purl import build_purl, purl_of
from stockade.scan.versions import SCHEMES, scheme_for
from stockade.scan.vulndb.names import normalise


def _emitted() -> set[Ecosystem]:
    return {eco for _, cls in ANALYZERS.items() for eco in cls.ecosystems}


def test_package_analyzers_declare_what_they_emit(corpus_scan: ScanResult) -> None:
    assert _emitted() == set(Ecosystem)
    assert {p.ecosystem for p in corpus_scan.packages} <= _emitted()


@pytest.mark.parametrize("ecosystem", sorted(_emitted()), ids=str)
def test_every_emitted_ecosystem_has_a_scheme_a_purl_type_and_a_matcher(
    ecosystem: Ecosystem,
) -> None:
    spec = ECOSYSTEMS[ecosystem]
    assert spec.scheme in SCHEMES
    assert spec.matcher in MATCHERS
    assert spec.advisory_names, "no advisory ecosystem: its packages could never match"
    for name in spec.advisory_names:
        assert spec_for_advisories(f"{name}:1") is spec
        assert scheme_for(name) is SCHEMES.get(spec.scheme)
    purl = PackageURL.from_string(build_purl(Package(name="x", version="1", ecosystem=ecosystem)))
    assert purl.type == spec.purl_type


@pytest.mark.parametrize(
    ("ecosystem", "name", "version", "purl"),
    [
        (Ecosystem.PYPI, "zope.interface", "5.5.2", "pkg:pypi/zope.interface@5.5.2"),
        (Ecosystem.PYPI, "Typing_Extensions", "4.0", "pkg:pypi/typing-extensions@4.0"),
        (Ecosystem.NPM, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0"),
        (
            Ecosystem.GO,
            "github.com/pkg/errors",
            "v0.9.1",
            "pkg:golang/github.com/pkg/errors@v0.9.1",
        ),
        (Ecosystem.MAVEN, "org.example:app", "1.2.3", "pkg:maven/org.example/app@1.2.3"),
        (Ecosystem.RUBYGEMS, "rack", "2.2.8", "pkg:gem/rack@2.2.8"),
        (Ecosystem.DEBIAN, "bsdutils", "1:2.38", "pkg:deb/debian/bsdutils@2.38?epoch=1"),
        (Ecosystem.ALPINE, "musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2"),
        (Ecosystem.RPM, "openssl", "1:3.0.7-27.el9", "pkg:rpm/openssl@3.0.7-27.el9?epoch=1"),
    ],
    ids=lambda v: str(v),
)
def test_purls_follow_the_purl_spec(
    ecosystem: Ecosystem, name: str, version: str, purl: str
) -> None:
    package = Package(name=name, version=version, ecosystem=ecosystem)
    assert build_purl(package) == purl
    assert purl_of(package) == purl


def test_an_os_package_purl_names_its_distribution() -> None:
    libc = Package(name="libc6", version="2.36", ecosystem=Ecosystem.DEBIAN, distro="debian:12")
    assert purl_of(libc) == "pkg:deb/debian/libc6@2.36?distro=debian-12"
    assert build_purl(libc, "ubuntu", "ubuntu-22.04") == (
        "pkg:deb/ubuntu/libc6@2.36?distro=ubuntu-22.04"
    )


def test_lookups_compare_pypi_names_as_pypi_does_while_purls_keep_dots() -> None:
    assert normalise("PyPI", "zope.interface") == "zope-interface"
    assert normalise("RubyGems", "Rack") == "Rack"
    assert normalise("Rocky Linux:9", "NetworkManager") == "NetworkManager"
    assert normalise("crates.io", "Serde") == "Serde"  # no row: names as written
