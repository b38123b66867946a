"""Files nested thousands deep (JSON, YAML, Dockerfile JSON arrays) are skipped, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.scan.errors import RuleError, SourceError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs, scan_image
from stockade.scan.secrets.rules import load_rules
from stockade.scan.vulndb import import_location, open_db
from tests.scan.imagebuild import LayerSpec, write_oci_layout

DEPTH = 20_000  # far past Python's recursion limit
DEEP_JSON = b'{"name": "deep", "version": "1.0.0", "x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
OK_PACKAGE = b'{"name": "left-pad", "version": "1.3.0"}'
OPTIONS = ScanOptions(
    cache_dir=None, scanners=frozenset({Scanner.PKG, Scanner.SECRET, Scanner.MISCONFIG})
)


def test_a_deep_package_json_is_skipped_with_a_warning(tmp_path: Path) -> None:
    layer = LayerSpec(
        files={
            "app/node_modules/deep/package.json": DEEP_JSON,
            "app/node_modules/left-pad/package.json": OK_PACKAGE,
            "app/Dockerfile": b"FROM debian:12\nCMD " + b"[" * DEPTH + b"]" * DEPTH + b"\n",
        }
    )
    result = scan_image(f"oci:{write_oci_layout(tmp_path / 'img', [layer])}", OPTIONS)
    assert [p.name for p in result.packages] == ["left-pad"]
    assert any(
        w.startswith("app/node_modules/deep/package.json: skipped") and "nested too deep" in w
        for w in result.warnings
    ), result.warnings


def test_a_deep_package_lock_is_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_bytes(DEEP_JSON.replace(b'"x"', b'"packages"'))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "package-lock.json").write_bytes(
        b'{"packages": {"node_modules/ms": {"version": "2.1.3"}}}'
    )
    result = scan_fs(tmp_path, OPTIONS)
    assert [(p.name, p.version) for p in result.packages] == [("ms", "2.1.3")]
    assert any(w.startswith("package-lock.json: skipped") for w in result.warnings)


def test_a_deep_image_config_is_a_clear_source_error(tmp_path: Path) -> None:
    config = b'{"rootfs": {"type": "layers", "diff_ids": []}, "x": ' + b"[" * DEPTH
    layout = write_oci_layout(tmp_path / "img", [], raw_config=config + b"]" * DEPTH + b"}")
    with pytest.raises(SourceError, match="nested too deeply"):
        scan_image(f"oci:{layout}", OPTIONS)


def test_deep_secret_rules_yaml_is_a_rule_error(tmp_path: Path) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text("rules: " + "[" * DEPTH + "]" * DEPTH + "\n")
    with pytest.raises(RuleError, match="deep.yaml"):
        load_rules(config)


def test_a_deep_advisory_file_is_skipped_by_db_import(tmp_path: Path) -> None:
    advisories = tmp_path / "advisories"
    advisories.mkdir()
    (advisories / "deep.json").write_bytes(b"[" * DEPTH + b"]" * DEPTH)
    (advisories / "ok.json").write_text(
        '{"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": '
        '[{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1.0"]}]}'
    )
    db = open_db(tmp_path / "db.sqlite", create=True)
    try:
        report = import_location(db, str(advisories))
    finally:
        db.close()
    assert report.advisories == 1
    [skipped] = report.skipped
    assert "deep.json" in skipped and skipped.endswith("not valid json: nested too deeply")
