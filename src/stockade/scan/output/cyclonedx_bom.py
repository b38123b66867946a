"""CycloneDX 1.6 JSON: the image, its packages with purls and licences, and vulnerabilities."""

from __future__ import annotations

from stockade.model.inventory import ScanResult
from stockade.scan.output.base import WRITERS, ReportWriter


class CycloneDxWriter(ReportWriter):
    """CycloneDX 1.6 JSON through cyclonedx-python-lib (loaded when a BOM is written)."""

    name = "cyclonedx"
    media_type = "application/vnd.cyclonedx+json"

    def write(self, result: ScanResult) -> bytes:
        """The BOM of `result`: metadata component = the image, one component per package."""
        from stockade.scan.output.cyclonedx_build import cyclonedx_json

        return cyclonedx_json(result)


_WRITER = WRITERS.register("cyclonedx", CycloneDxWriter())
WRITERS.register("cyclonedx-json", _WRITER)  # Trivy's and Syft's name
