"""SPDX 2.3, JSON (`spdx-json`) or tag-value (`spdx`): the image and each package with its purl."""

from __future__ import annotations

from stockade.model.inventory import ScanResult
from stockade.scan.output.base import WRITERS, ReportWriter


class SpdxWriter(ReportWriter):
    """SPDX 2.3 JSON through spdx-tools (loaded when a document is written)."""

    name = "spdx-json"
    media_type = "application/spdx+json"

    def write(self, result: ScanResult) -> bytes:
        """The SPDX document: DOCUMENT DESCRIBES image, image CONTAINS each package."""
        from stockade.scan.output.spdx_build import spdx_json

        return spdx_json(result)


class SpdxTagValueWriter(ReportWriter):
    """SPDX 2.3 tag-value, the same document as `SpdxWriter` in the text syntax."""

    name = "spdx"
    media_type = "text/spdx"

    def write(self, result: ScanResult) -> bytes:
        """The SPDX document in tag-value syntax."""
        from stockade.scan.output.spdx_build import spdx_json

        return spdx_json(result, tag_value=True)


# Trivy's and Syft's names: `spdx` is tag-value in both, `spdx-tag-value` is Syft's long name
WRITERS.register("spdx-json", SpdxWriter())
_TAG_VALUE = WRITERS.register("spdx", SpdxTagValueWriter())
WRITERS.register("spdx-tag-value", _TAG_VALUE)
