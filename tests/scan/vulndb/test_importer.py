"""Importing files, directories and archives into a VulnDB; lookups by normalised name."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import pytest

from stockade.scan.vulndb import VulnDB, VulnDBError, import_location, open_db
from stockade.scan.vulndb.names import normalise

TRACKER = Path(__file__).parent.parent / "matchers/testdata/debian-tracker.json"


@pytest.fixture
def db(tmp_path: Path) -> VulnDB:
    return open_db(tmp_path / "db" / "v.sqlite", create=True)


def _sample_dir(corpus: Path, into: Path) -> Path:
    into.mkdir()
    for name in ("requests", "urllib3"):
        shutil.copytree(corpus / "vulndb/osv-pypi/vulns" / name, into / name)
    (into / "notes.json").write_text(json.dumps({"hello": "world"}))
    (into / "broken.yaml").write_text("id: [unclosed")
    return into


def test_directory(db: VulnDB, corpus: Path, tmp_path: Path) -> None:
    folder = _sample_dir(corpus, tmp_path / "feed")
    report = import_location(db, str(folder))
    assert report.formats["osv"] == report.advisories > 10
    assert len(report.skipped) == 2  # the unknown JSON and the broken YAML, each with a reason
    assert any("not a known advisory format" in s for s in report.skipped)
    assert db.counts_by_ecosystem() == {"PyPI": report.advisories}
    assert db.candidates("PyPI", "Requests")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archives(db: VulnDB, corpus: Path, tmp_path: Path, kind: str) -> None:
    folder = _sample_dir(corpus, tmp_path / "feed")
    archive = tmp_path / f"feed.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for path in folder.rglob("*"):
                zf.write(path, path.relative_to(folder))
    else:
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(folder, arcname="feed")
    report = import_location(db, str(archive))
    assert report.advisories > 10
    assert db.sources()[0].location == str(archive.resolve())


def test_single_file_and_replace(db: VulnDB, tmp_path: Path) -> None:
    first = import_location(db, str(TRACKER))
    assert first.formats == {"debian-tracker": first.advisories}
    counts = db.counts_by_ecosystem()
    import_location(db, str(TRACKER))
    assert db.counts_by_ecosystem() == counts  # same source again replaces, never doubles
    assert len(db.sources()) == 1
    assert db.candidates("Debian:12", "openssl")


def test_empty_or_missing(db: VulnDB, tmp_path: Path) -> None:
    with pytest.raises(VulnDBError, match="no such file"):
        import_location(db, str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(VulnDBError, match="no JSON or YAML"):
        import_location(db, str(tmp_path / "empty"))


def test_persisted(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    db = open_db(path, create=True)
    import_location(db, str(TRACKER))
    before = db.candidates("Debian:12", "glibc")
    db.close()
    again = open_db(path)
    after = again.candidates("Debian:12", "glibc")
    assert [c.advisory.id for c in after] == ["CVE-2023-4911", "CVE-2010-4756"]
    assert after == before  # every field survives the round trip
    assert again.counts_by_ecosystem() == {"Debian:11": 2, "Debian:12": 9}
    again.close()


@pytest.mark.parametrize(
    ("ecosystem", "name", "expected"),
    [
        ("PyPI", "Jinja2", "jinja2"),
        ("PyPI", "zope.interface", "zope-interface"),
        ("PyPI", "typing__extensions", "typing-extensions"),
        ("npm", "JSONStream", "jsonstream"),
        ("Debian:12", "libssl3", "libssl3"),
        ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
    ],
)
def test_normalise(ecosystem: str, name: str, expected: str) -> None:
    assert normalise(ecosystem, name) == expected


def test_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VulnDBError, match="stockade db import"):
        open_db(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


def test_foreign_format_version_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(VulnDBError, match="format 99"):
        open_db(path)
