"""The scan subprocess prints the agent's upload format, keeps the image's executables'
digests when asked, and fails in one line."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import msgspec

from stockade.agent.scan_child import INTEGRITY_EXIT, IntegrityFailure
from stockade.model.wire import decode_scan
from stockade.profiles.scanned_files import (
    RECHECK_S,
    ScannedExecutables,
    file_of,
    write_executables,
)
from tests.scan.imagebuild import LayerSpec, layer_tar, sha256, write_oci_layout

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


def test_a_layer_not_matching_its_diff_id_is_an_integrity_failure(tmp_path: Path) -> None:
    """The scanner's own layer digest check: its own exit status and a structured report,
    so the agent never reads the message to tell it from other failures."""
    genuine = LayerSpec(files={"bin/tool": b"tool"}, modes={"bin/tool": 0o755})
    changed = LayerSpec(files={"bin/tool": b"changed"}, modes={"bin/tool": 0o755})
    posing = LayerSpec(blob=layer_tar(changed), diff_id=sha256(layer_tar(genuine)))
    layout = write_oci_layout(tmp_path / "img", [posing])
    kept = tmp_path / "image-files" / "sha256-x.msgpack"
    done = _child(
        *(f"oci:{layout}", "--scanners", "", "--cache-dir", str(tmp_path / "c")),
        *("--executables-to", str(kept)),
    )
    assert done.returncode == INTEGRITY_EXIT, done.stderr
    failure = msgspec.json.decode(done.stdout, type=IntegrityFailure)
    assert "diff id" in failure.message and failure.file == ""  # no file named: a layer
    assert not kept.exists()


def test_the_child_keeps_the_images_executables_digests(tmp_path: Path) -> None:
    """Only files with an execute bit, as the top layer holding them has them; none that
    a later layer deleted."""
    lower = LayerSpec(
        files={"bin/tool": b"old tool", "bin/gone": b"gone", "etc/conf": b"data"},
        modes={"bin/tool": 0o755, "bin/gone": 0o755},
    )
    upper = LayerSpec(
        files={"bin/tool": b"new tool", "bin/.wh.gone": b""}, modes={"bin/tool": 0o700}
    )
    layout = write_oci_layout(tmp_path / "img", [lower, upper])
    kept = tmp_path / "image-files" / "sha256-x.msgpack"
    done = _child(
        f"oci:{layout}", "--cache-dir", str(tmp_path / "c"), "--executables-to", str(kept)
    )
    assert done.returncode == 0, done.stderr
    assert decode_scan(done.stdout).image_digest.startswith("sha256:")
    found = msgspec.msgpack.decode(kept.read_bytes())
    assert found == {"/bin/tool": "sha256:" + hashlib.sha256(b"new tool").hexdigest()}


def test_with_no_scanner_the_child_lists_the_executables_alone(tmp_path: Path) -> None:
    """The agent's pass over an image the platform had a scan of: no finding, no package."""
    layer = LayerSpec(
        files={"app/.env": TOKEN, "bin/tool": b"tool", "app/node_modules/ms/package.json": b"{}"},
        modes={"bin/tool": 0o755},
    )
    layout = write_oci_layout(tmp_path / "img", [layer])
    kept = tmp_path / "image-files" / "sha256-x.msgpack"
    done = _child(
        *(f"oci:{layout}", "--scanners", "", "--cache-dir", str(tmp_path / "c")),
        *("--executables-to", str(kept)),
    )
    assert done.returncode == 0, done.stderr
    result = decode_scan(done.stdout)
    assert result.findings == [] and result.packages == []
    found = msgspec.msgpack.decode(kept.read_bytes())
    assert found == {"/bin/tool": "sha256:" + hashlib.sha256(b"tool").hexdigest()}


def test_scanned_executables_are_read_back_and_an_unscanned_image_looked_for_again(
    tmp_path: Path,
) -> None:
    now = [0.0]
    scanned = ScannedExecutables(tmp_path, clock=lambda: now[0])
    digest = "sha256:" + "ab" * 32
    assert scanned.get(digest) is None
    kept = file_of(tmp_path, digest)
    assert kept is not None and file_of(tmp_path, "sha256:../../etc") is None
    write_executables(kept, {"/bin/tool": "sha256:00"})
    assert scanned.get(digest) is None  # absent a moment ago: not looked for at every exec
    now[0] = RECHECK_S
    assert scanned.get(digest) == {"/bin/tool": "sha256:00"}
