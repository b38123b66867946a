"""The test image's npm packages against the Node.js security-wg advisories."""

from __future__ import annotations

from pathlib import Path

from stockade.model.inventory import Ecosystem, Finding, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB
from tests.scan.matchers.references import expected_npm, image_npm_packages


def _nswg(finding: Finding) -> str:
    return next(r for r in (finding.id, *finding.references) if r.startswith("NSWG-ECO-"))


def test_image_npm_packages_match_exactly(corpus: Path, npm_db: VulnDB) -> None:
    packages = image_npm_packages(corpus / "images/debian12-app.oci.tar")
    assert len(packages) >= 50
    assert (
        Package(
            name="lodash",
            version="4.17.15",
            ecosystem=Ecosystem.NPM,
            path="/app/node_modules/lodash/package.json",
        )
        in packages
    )
    findings = match_packages(packages, "debian 12", npm_db)
    got = {(f.target, f.installed_version, _nswg(f)) for f in findings}
    want = expected_npm(corpus, packages)
    assert got == want
    assert want  # the image is old enough to have some
    lodash = [f for f in findings if f.target == "lodash"]
    assert [(f.id, f.fixed_version) for f in lodash] == [("NSWG-ECO-516", "4.17.19")]
    # the record says 7.4 but its CVSS:3.0 vector computes to 6.3: the vector wins
    assert lodash[0].cvss_score == 6.3
    assert lodash[0].severity.name == "MEDIUM"
