"""The bbolt reader's refusals (its reads are exercised on podman's real state database
by test_cni's netavark case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.context.boltdb import BoltError, BoltFile


@pytest.mark.parametrize(
    "content",
    [b"", b"not a bbolt file" * 500, bytes(8192)],
    ids=["empty", "text", "zeros"],
)
def test_a_file_without_a_valid_meta_page_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(content)
    with pytest.raises(BoltError, match="no valid meta page"):
        BoltFile.read(path)


def test_a_missing_file_is_a_bolt_error(tmp_path: Path) -> None:
    with pytest.raises(BoltError, match="cannot read"):
        BoltFile.read(tmp_path / "absent.db")
