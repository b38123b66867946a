"""A real platform on free loopback ports per module, and an admin console client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.platform_runner import PlatformRunner


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformRunner]:
    """One real platform for the tests of a module."""
    server = PlatformRunner(tmp_path_factory.mktemp("platform")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A console client logged in as admin."""
    client = running.login()
    yield client
    client.close()
