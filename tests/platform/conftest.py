"""Real platforms on free loopback ports, and agents that enroll with real certificates."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.platform import Platform, PlatformConfig
from tests.platform.agent_client import TestAgent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningPlatform:
    """A platform serving from a background thread's event loop until `stop`."""

    def __init__(self, data_dir: Path) -> None:
        config = PlatformConfig(data_dir=data_dir, console_port=free_port(), agent_port=free_port())
        self.platform = Platform.open(config)
        self.admin_password = self.platform.first_admin_password or ""
        self._agents: list[TestAgent] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"platform did not start: {self._error}")

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            ready = asyncio.Event()
            self._task = asyncio.create_task(self.platform.serve(ready))
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        try:
            asyncio.run(main())
        except BaseException as e:  # reported by the constructor or stop()
            self._error = e
            self._ready.set()

    def stop(self) -> None:
        """Cancel serving, wait for a clean shutdown, close the platform."""
        for agent in self._agents:
            agent.client.close()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)
        self.platform.close()
        assert not self._thread.is_alive(), "platform did not stop"
        if self._error is not None:
            raise self._error

    def console(self) -> httpx.Client:
        """An HTTP client for the console port (not logged in)."""
        return httpx.Client(base_url=self.platform.console_url, timeout=30)

    def login(self) -> httpx.Client:
        """A console client logged in as admin."""
        client = self.console()
        r = client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": self.admin_password}
        )
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return client

    def enroll(self, tmp_path: Path, hostname: str = "node-1") -> TestAgent:
        """A new agent enrolled through the real endpoint."""
        token = self.platform.create_enrollment_token()
        return TestAgent.enroll(
            self.platform.agent_url, self.platform.ca_pem, token, tmp_path, hostname=hostname
        )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """One real platform for the tests of a module."""
    server = RunningPlatform(tmp_path_factory.mktemp("platform"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(running: RunningPlatform) -> Iterator[httpx.Client]:
    """A console client logged in as admin."""
    client = running.login()
    yield client
    client.close()
