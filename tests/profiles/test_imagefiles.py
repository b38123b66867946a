"""The image's version of a path from overlay lower layers (whiteouts, opaque directories),
and drift judged against it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stockade.profiles.imagefiles import UNTRUSTED, ImageFiles, image_drift, image_file
from stockade.profiles.scanned_files import ScannedExecutables, file_of, write_executables

pytestmark = [pytest.mark.root]  # whiteouts are character devices, opaque dirs trusted xattrs


def _layers(tmp_path: Path) -> tuple[str, ...]:
    top, middle, bottom = (tmp_path / n for n in ("top", "middle", "bottom"))
    for layer in (top, middle, bottom):
        (layer / "usr/bin").mkdir(parents=True)
    (bottom / "usr/bin/ls").write_bytes(b"old ls")
    (middle / "usr/bin/ls").write_bytes(b"new ls")
    (bottom / "usr/bin/gone").write_bytes(b"x")
    os.mknod(top / "usr/bin/gone", 0o600 | 0o20000, 0)  # a whiteout: char device 0/0
    (bottom / "opt/app").mkdir(parents=True)
    (bottom / "opt/app/tool").write_bytes(b"hidden")
    (middle / "opt/app").mkdir(parents=True)
    os.setxattr(middle / "opt/app", "trusted.overlay.opaque", b"y")
    return (str(top), str(middle), str(bottom))


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/usr/bin/ls", "middle/usr/bin/ls"),
        ("/usr/bin/gone", None),
        ("/opt/app/tool", None),
        ("/usr/bin/never", None),
    ],
    ids=["topmost-wins", "whiteout", "opaque-dir", "absent"],
)
def test_image_file(tmp_path: Path, path: str, found: str | None) -> None:
    result = image_file(_layers(tmp_path), path)
    assert result == (str(tmp_path / found) if found else None)


@pytest.mark.parametrize(
    ("on_upper", "image", "current", "drift"),
    [
        (True, None, "sha256:a", True),
        (False, None, "sha256:a", False),
        (True, "sha256:a", "sha256:a", False),
        (True, "sha256:a", "sha256:b", True),
        (False, "sha256:a", "sha256:b", True),
        (False, "sha256:a", "", False),
        (False, UNTRUSTED, "sha256:a", True),
    ],
    ids=[
        *("new-file", "not-in-image", "copied-up-unchanged", "replaced", "lower-changed"),
        *("unread", "layer-failed-its-integrity-check"),
    ],
)
def test_image_drift(on_upper: bool, image: str | None, current: str, drift: bool) -> None:
    assert image_drift(on_upper, image, lambda: current) is drift


def test_an_images_list_serves_every_container_of_it_and_no_list_falls_back(
    tmp_path: Path,
) -> None:
    """The list kept for a digest answers for each container of the image; a digest with
    none (an image never listed) is looked up in the layers, unreadable here (pid 0)."""
    listed, unlisted = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    kept = file_of(tmp_path, listed)
    assert kept is not None
    write_executables(kept, {"/usr/bin/ls": "sha256:aa"})
    files = ImageFiles(ScannedExecutables(tmp_path))
    for container in ("c1" * 32, "c2" * 32):
        assert files.sha256(container, 0, "/usr/bin/ls", listed) == "sha256:aa"
        assert files.sha256(container, 0, "/usr/bin/other", listed) is None
        assert files.sha256(container, 0, "/usr/bin/ls", unlisted) is None
