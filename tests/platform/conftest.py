"""A real platform on free loopback ports per module, and an admin console client.

The platform stores in SQLite; a module that sets `STORE_KINDS = ("sqlite", "postgresql")`
runs all its tests once per store (PostgreSQL: a database of its own on the session's
server). STOCKADE_TEST_STORES=sqlite,postgresql runs every module on each. A module that
sets `PLATFORM_CONFIG = {"field": value}` gets a platform with those PlatformConfig fields.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.platform_runner import PlatformRunner
from tests.support.postgres import PostgresServer
from tests.support.stores import StoreOpener


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    every = os.environ.get("STOCKADE_TEST_STORES")
    kinds = every.split(",") if every else getattr(metafunc.module, "STORE_KINDS", None)
    if kinds and "store_kind" in metafunc.fixturenames:
        metafunc.parametrize("store_kind", kinds, scope="module")


@pytest.fixture(scope="module")
def store_kind() -> str:
    """The store a module's platform keeps its data in, unless parametrized (STORE_KINDS)."""
    return "sqlite"


def store_url(store_kind: str, request: pytest.FixtureRequest) -> str:
    """ "" for SQLite in the data dir; a fresh PostgreSQL database's URL for "postgresql"."""
    if store_kind == "sqlite":
        return ""
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Opens stores on one fresh database of each kind (SQLite file, PostgreSQL database)."""
    kind = str(request.param)
    location = str(tmp_path / "db.sqlite")
    if kind == "postgresql":
        location = request.getfixturevalue("postgres_url")
    opener = StoreOpener(kind, location)
    yield opener
    opener.close()


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[PlatformRunner]:
    """One real platform for the tests of a module (per store kind, see STORE_KINDS)."""
    url = store_url(store_kind, request)
    server = PlatformRunner(tmp_path_factory.mktemp("platform"), url)
    overrides = getattr(request.module, "PLATFORM_CONFIG", {})
    server.config = dataclasses.replace(server.config, **overrides)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A console client logged in as admin."""
    client = running.login()
    yield client
    client.close()
