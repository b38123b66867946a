"""Shared fixtures: the reference corpus, capability markers and real podman containers.

Tests that need root, eBPF, podman, a server or a browser carry a marker. Where the
capability is missing they skip with the reason, except under CI=true, where they fail
(tests/support/ci.py). Helpers for tests live in tests/support/, not in test modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import capabilities
from tests.support.ci import skip_or_fail
from tests.support.containerd import Containerd
from tests.support.containerd import unavailable_reason as containerd_unavailable
from tests.support.nats import NatsServer
from tests.support.podman import Podman
from tests.support.postgres import TEMPLATE as POSTGRES_TEMPLATE
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.wheel import build_wheel

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers():
        check = capabilities.CHECKS.get(marker.name)
        if check is None:
            continue
        reason = check()
        if reason:
            skip_or_fail(f"{marker.name}: {reason}")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared reference corpus (STOCKADE_CORPUS, default ../shared/corpus)."""
    path = Path(os.environ.get("STOCKADE_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))
    if not (path / "README.md").is_file():
        skip_or_fail(f"reference corpus not found at {path} (set STOCKADE_CORPUS)")
    return path


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    """A podman wrapper with this machine's working flags; removes what it started."""
    reason = capabilities.CHECKS["podman"]()
    if reason:
        skip_or_fail(f"podman: {reason}")
    client = Podman()
    yield client
    client.remove_started()


@pytest.fixture(scope="session")
def busybox_image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A busybox image built locally (no registry here); returns its name."""
    return podman.build_busybox_image(tmp_path_factory.mktemp("busybox-rootfs"))


@pytest.fixture(scope="session")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    """One containerd of the test run's own (its socket under tmp), shared by every test."""
    reason = containerd_unavailable()
    if reason:
        skip_or_fail(reason)
    daemon = Containerd(tmp_path_factory.mktemp("ctd"))
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def stockade_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stockade wheel built once from a clean copy of the sources (tests/support/wheel.py)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave artifacts (screenshots, logs) for a human to look at."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 15 server for the session, with the store's schema as template."""
    from stockade.platform.store.postgres import PostgresStore

    server = start_postgres()
    try:
        server.sql(f"CREATE DATABASE {POSTGRES_TEMPLATE}")
        PostgresStore(server.url(POSTGRES_TEMPLATE)).close()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh database of its own for one test (the store's schema already in it)."""
    return postgres.create_database()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server -js (Debian's package) on a free loopback port."""
    server = NatsServer(tmp_path / "jetstream").start()
    try:
        yield server
    finally:
        server.stop()
