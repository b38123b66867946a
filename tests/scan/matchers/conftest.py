"""Databases imported once per session from the corpus and from testdata/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.scan.vulndb import VulnDB, import_location, open_db

TESTDATA = Path(__file__).parent / "testdata"


def _db(tmp: Path, *locations: Path) -> Iterator[VulnDB]:
    db = open_db(tmp / "vulndb.sqlite", create=True)
    for location in locations:
        import_location(db, str(location))
    yield db
    db.close()


@pytest.fixture(scope="session")
def pypi_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDB]:
    """The osv-pypi corpus imported."""
    yield from _db(tmp_path_factory.mktemp("pypi"), corpus / "vulndb/osv-pypi")


@pytest.fixture(scope="session")
def npm_db(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDB]:
    """The nodejs security-wg corpus imported."""
    yield from _db(tmp_path_factory.mktemp("npm"), corpus / "vulndb/nodejs-security-wg")


@pytest.fixture(scope="session")
def debian_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDB]:
    """The handcrafted Debian tracker JSON and Debian OSV records imported."""
    yield from _db(
        tmp_path_factory.mktemp("debian"),
        TESTDATA / "debian-tracker.json",
        TESTDATA / "debian-osv",
    )
