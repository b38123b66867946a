"""Importing from an http URL, served by a server this test starts on loopback."""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.scan.vulndb import VulnDBError, import_location, open_db

TRACKER = Path(__file__).parent.parent / "matchers/testdata/debian-tracker.json"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_import_zip_and_json_by_url(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    with zipfile.ZipFile(root / "tracker.zip", "w") as zf:
        zf.write(TRACKER, "data/tracker.json")
    (root / "tracker.json").write_bytes(TRACKER.read_bytes())
    db = open_db(tmp_path / "v.sqlite", create=True)
    for name in ("tracker.zip", "tracker.json"):
        report = import_location(db, f"{base}/{name}")
        assert report.formats["debian-tracker"] == report.advisories > 5
    assert {s.location for s in db.sources()} == {f"{base}/tracker.zip", f"{base}/tracker.json"}
    with pytest.raises(VulnDBError, match="cannot download"):
        import_location(db, f"{base}/missing.json")
    db.close()
