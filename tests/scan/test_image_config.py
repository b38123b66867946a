"""Image-config analyzers: registered like file analyzers, chosen by scanner, run once per image."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.scan.analyzers.image_config import (
    BASE_NAME_ANNOTATION,
    CONFIG_ANALYZERS,
    CONFIG_TARGET,
    ImageConfigInput,
)
from stockade.scan.group import AnalyzerGroup
from stockade.scan.image import HistoryEntry, ImageConfig
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.imagebuild import LayerSpec, write_oci_layout

TOKEN = "GH=ghp_" + "Zq8" * 12


def test_the_built_ins_are_registered_with_their_scanner() -> None:
    scanners = {name: cls.scanner for name, cls in CONFIG_ANALYZERS.items()}
    assert scanners == {"config-secrets": Scanner.SECRET, "image-misconfig": Scanner.MISCONFIG}


@pytest.mark.parametrize(
    ("scanners", "chosen"),
    [
        ({Scanner.PKG}, set()),
        ({Scanner.SECRET}, {"config-secrets"}),
        ({Scanner.MISCONFIG}, {"image-misconfig"}),
        ({Scanner.SECRET, Scanner.MISCONFIG}, {"config-secrets", "image-misconfig"}),
    ],
    ids=["pkg", "secret", "misconfig", "both"],
)
def test_the_scan_runs_the_config_analyzers_of_its_scanners(
    scanners: set[Scanner], chosen: set[str]
) -> None:
    group = AnalyzerGroup.build(ScanOptions(cache_dir=None, scanners=frozenset(scanners)))
    assert {c.id for c in group.config_classes} == chosen


def test_config_findings_come_from_both_analyzers(tmp_path: Path) -> None:
    config = {"Env": ["PATH=/bin", TOKEN], "ExposedPorts": {"22/tcp": {}}}
    layout = write_oci_layout(tmp_path / "img", [LayerSpec(files={"a": b"x"})], config)
    options = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.SECRET, Scanner.MISCONFIG}))
    found = {(f.kind, f.id) for f in scan_image(f"oci:{layout}", options).findings}
    assert ("secret", "github-pat") in found
    assert ("misconfiguration", "STK-IMG-0001") in found  # runs as root


def test_the_base_image_comes_from_the_annotation_else_the_history() -> None:
    config = ImageConfig(history=[HistoryEntry(comment="FROM debian:12")])
    assert ImageConfigInput(config).base_name == "debian:12"
    annotated = ImageConfigInput(config, {BASE_NAME_ANNOTATION: "alpine:3.20"})
    assert annotated.base_name == "alpine:3.20"
    assert ImageConfigInput(ImageConfig()).base_name == ""
    assert CONFIG_TARGET == "image config"
