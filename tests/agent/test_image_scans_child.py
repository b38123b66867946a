"""The scan subprocess prints the agent's upload format, and fails in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stockade.model.wire import decode_scan
from tests.scan.imagebuild import LayerSpec, write_oci_layout

TOKEN = b"GITHUB_TOKEN=ghp_" + b"A1b2" * 9 + b"\n"


def _child(*args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "stockade.agent.scan_child", *args]
    return subprocess.run(command, capture_output=True, timeout=120, check=False)


def test_the_child_prints_the_upload_format(tmp_path: Path) -> None:
    layer = LayerSpec(files={"app/.env": TOKEN, "app/node_modules/ms/package.json": b"{}"})
    layout = write_oci_layout(tmp_path / "img", [layer])
    done = _child(f"oci:{layout}", "--scanners", "pkg,secret", "--cache-dir", str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    result = decode_scan(done.stdout)
    assert result.image_digest.startswith("sha256:")
    assert [(f.id, f.path) for f in result.findings] == [("github-pat", "app/.env")]


def test_a_bad_source_is_one_line_on_stderr(tmp_path: Path) -> None:
    done = _child(f"oci:{tmp_path / 'missing'}", "--cache-dir", str(tmp_path / "c"))
    assert done.returncode == 2 and done.stdout == b""
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in lines[0]
