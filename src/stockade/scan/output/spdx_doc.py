"""SPDX 2.3 JSON: the image as the described package, each package with its purl."""

from __future__ import annotations

from stockade.model.inventory import ScanResult
from stockade.scan.output.base import WRITERS, ReportWriter


class SpdxWriter(ReportWriter):
    """SPDX 2.3 JSON through spdx-tools (loaded when a document is written)."""

    name = "spdx"
    media_type = "application/spdx+json"

    def write(self, result: ScanResult) -> bytes:
        """The SPDX document: DOCUMENT DESCRIBES image, image CONTAINS each package."""
        from stockade.scan.output.spdx_build import spdx_json

        return spdx_json(result)


WRITERS.register("spdx", SpdxWriter())
