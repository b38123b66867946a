"""All four formats over the real scan of the corpus image (88 deb, 54 npm, 8 python)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from stockade.model.inventory import ScanResult
from stockade.scan.output import write
from tests.scan.output.sarif import assert_valid_sarif


def test_real_scan_in_every_format(
    corpus_scan: ScanResult, tmp_path: Path, sarif_schema: dict[str, Any]
) -> None:
    assert len(corpus_scan.packages) >= 150
    bom = write(corpus_scan, "cyclonedx").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    assert len(json.loads(bom)["components"]) == len(corpus_scan.packages)

    spdx = tmp_path / "image.spdx.json"
    spdx.write_bytes(write(corpus_scan, "spdx-json"))
    document = parse_file(str(spdx))
    assert validate_full_spdx_document(document) == []
    assert len(document.packages) == len(corpus_scan.packages) + 1  # + the image

    log = json.loads(write(corpus_scan, "sarif"))
    assert_valid_sarif(log, sarif_schema)
    assert len(log["runs"][0]["results"]) == len(corpus_scan.findings)

    report = json.loads(write(corpus_scan, "json"))
    assert len(report["packages"]) == len(corpus_scan.packages)
