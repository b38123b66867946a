"""Images marked as failing their layer integrity check, as the drift check reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.profiles.tampered_images import (
    ANY_FILE,
    TamperedImages,
    mark_tampered,
    marker_of,
)
from stockade.scan.errors import DigestMismatchError
from stockade.scan.sources.podman import save_error

DIGEST = "sha256:" + "a" * 64


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_only_the_named_file_is_distrusted(tmp_path: Path) -> None:
    mark_tampered(tmp_path, DIGEST, "/opt/x/true")
    tampered = TamperedImages(tmp_path)
    assert tampered.distrusts(DIGEST, "/opt/x/true")
    assert not tampered.distrusts(DIGEST, "/bin/sh")
    assert not tampered.distrusts("sha256:" + "b" * 64, "/opt/x/true")


def test_an_unnamed_failure_distrusts_every_file_and_markers_are_read_again(
    tmp_path: Path,
) -> None:
    clock = Clock()
    tampered = TamperedImages(tmp_path, clock)
    assert not tampered.distrusts(DIGEST, "/bin/sh")
    mark_tampered(tmp_path, DIGEST, ANY_FILE)
    assert not tampered.distrusts(DIGEST, "/bin/sh")  # read a few seconds later
    clock.now += 10
    assert tampered.distrusts(DIGEST, "/bin/sh") and tampered.distrusts(DIGEST, "/opt/x")


def test_a_malformed_digest_has_no_marker(tmp_path: Path) -> None:
    assert marker_of(tmp_path, "sha256:../../etc") is None
    mark_tampered(tmp_path, "sha256:../../etc", "/x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("stderr", "file"),
    [
        ('Error: reading blob: file integrity checksum failed for "opt/x/true"', "/opt/x/true"),
        ("Error: no such image", None),
    ],
    ids=["integrity", "other"],
)
def test_podman_save_errors_tell_an_integrity_failure_apart(stderr: str, file: str | None) -> None:
    error = save_error("app", f"Copying blob sha256:0a\n{stderr}" if file else stderr)
    assert str(error) == f"podman image app: {stderr}"  # one line
    assert isinstance(error, DigestMismatchError) == (file is not None)
    if isinstance(error, DigestMismatchError):
        assert error.file == file
