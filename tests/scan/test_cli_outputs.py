"""`stockade scan -f/-o`: Trivy's and Syft's format names, several reports from one scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.cli.scan_outputs import Output, plan_outputs
from stockade.errors import UsageError

RUNNER = CliRunner()


def test_each_o_is_a_file_a_format_or_both(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert plan_outputs("json", []) == [Output("json", None)]
    assert plan_outputs("json", [str(report)]) == [Output("json", report)]  # Trivy's -o FILE
    assert plan_outputs("table", ["spdx-json"]) == [Output("spdx-json", None)]
    assert plan_outputs("table", [f"cyclonedx-json={report}", "table"]) == [
        Output("cyclonedx-json", report),
        Output("table", None),
    ]
    with pytest.raises(UsageError, match="more than one report on standard output"):
        plan_outputs("table", ["json", "spdx"])
    with pytest.raises(UsageError, match="no such directory"):
        plan_outputs("table", [f"json={tmp_path / 'missing' / 'r.json'}"])


def test_one_scan_of_the_corpus_image_writes_every_sbom(corpus_image: Path, tmp_path: Path) -> None:
    cdx, spdx_json, spdx_tv = (tmp_path / n for n in ("b.cdx.json", "b.spdx.json", "b.spdx"))
    result = RUNNER.invoke(
        app,
        [
            *("scan", "image", f"oci-archive:{corpus_image}", "--no-cache"),
            # without /usr/share the SPDX documents hold ~1,100 of the 5,100 listed files
            # (the validator's time grows with the square of elements and relationships),
            # and the others show as excluded from the packages' verification codes
            *("--scanners", "pkg", "--skip-dirs", "usr/share"),
            *("-o", f"cyclonedx-json={cdx}", "-o", f"spdx-json={spdx_json}"),
            *("-o", f"spdx={spdx_tv}", "-o", "table"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "debian 12.15" in result.stdout  # the table, on standard output
    bom = cdx.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    components = json.loads(bom)["components"]
    assert [c["type"] for c in components].count("library") == 150
    assert [c["name"] for c in components if c["type"] == "operating-system"] == ["debian"]
    # a CycloneDX report lists each package's files with the digests dpkg and RECORD hold
    bsdutils = next(c for c in components if c["name"] == "bsdutils")
    logger = next(f for f in bsdutils["components"] if f["name"] == "/usr/bin/logger")
    assert logger["hashes"][0] == {"alg": "MD5", "content": "b4d99c80bde0db7fee34827e4c3a5f4c"}
    assert [h["alg"] for h in logger["hashes"][1:]] == ["SHA-1", "SHA-256"]  # of the content
    assert json.loads(spdx_json.read_text())["spdxVersion"] == "SPDX-2.3"
    assert spdx_tv.read_text().startswith("## Document Information\nSPDXVersion: SPDX-2.3")
    for path in (spdx_json, spdx_tv):  # the same document in both syntaxes
        document = parse_file(str(path))
        assert validate_full_spdx_document(document) == []
        assert len(document.packages) == 152  # the image, its OS and its 150 packages
        bash = next(p for p in document.packages if p.name == "bash")
        assert bash.files_analyzed and bash.verification_code is not None
        # (spdx-tools reads a tag-value list of excluded files back as one string)
        assert "./usr/share/doc/bash/copyright" in " ".join(bash.verification_code.excluded_files)
        assert any(f.name == "./bin/bash" for f in document.files)


def test_trivy_style_format_and_file(corpus_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.cdx.json"
    args = ["scan", "image", f"oci-archive:{corpus_image}", "--no-cache", "--scanners", "pkg"]
    result = RUNNER.invoke(app, [*args, "-f", "cyclonedx-json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["bomFormat"] == "CycloneDX"
    typo = RUNNER.invoke(app, [*args, "-f", "spdx-jsn"])
    assert typo.exit_code == 2
    assert "unknown format 'spdx-jsn'" in typo.output and "spdx-json" in typo.output
