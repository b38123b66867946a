"""One real scan of the corpus' Debian 12 app image, made once per test process."""

from __future__ import annotations

import functools
from pathlib import Path

from stockade.model.inventory import ScanResult
from stockade.scan.jsonreport import encode_report
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image

APP_IMAGE = "images/debian12-app.oci.tar"
SCANNERS = frozenset({Scanner.PKG, Scanner.SECRET, Scanner.MISCONFIG})


@functools.cache
def app_image_scan(corpus: Path) -> ScanResult:
    """Packages, secrets and misconfigurations of the app image (no vulnerability DB here)."""
    return scan_image(
        f"oci-archive:{corpus / APP_IMAGE}", ScanOptions(scanners=SCANNERS, cache_dir=None)
    )


def app_image_json(corpus: Path) -> bytes:
    """The scan as `stockade scan image --format json` prints it."""
    return encode_report(app_image_scan(corpus))
