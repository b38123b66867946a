"""A real platform in a background thread (restartable on the same ports) for agent tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.model import Event
from stockade.platform import Platform, PlatformConfig
from stockade.platform.store import SqliteStore
from stockade.platform.store.base import AgentRecord, AlertQuery, EventQuery


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PlatformThread:
    """Serves a platform from its own event loop; `stop()` and `start()` restart it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.config = PlatformConfig(
            data_dir=data_dir, console_port=free_port(), agent_port=free_port()
        )
        self.platform: Platform | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def agent_url(self) -> str:
        """The agent port's URL (stable across restarts)."""
        return f"https://127.0.0.1:{self.config.effective_agent_port}"

    def start(self) -> None:
        """Open the data dir and serve until `stop()`."""
        self.platform = platform = Platform.open(self.config)
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            started = asyncio.Event()
            self._task = asyncio.create_task(platform.serve(started))
            waiter = asyncio.create_task(started.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as e:
                failure.append(e)
                ready.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(30) and not failure, f"platform did not start: {failure}"

    def stop(self) -> None:
        """Stop serving and close the data dir."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(30)
        if self.platform is not None:
            self.platform.close()
        self.platform = None

    def token(self) -> str:
        """A one-time enrollment token."""
        assert self.platform is not None
        return self.platform.create_enrollment_token()

    def stored_events(self, agent_id: str) -> list[Event]:
        """Every event stored for the agent (the platform must be stopped)."""
        store = SqliteStore(str(self.data_dir / "stockade.db"))
        try:
            found = store.query_events(EventQuery(limit=10_000_000))
            return [s.event for s in found if s.agent_id == agent_id]
        finally:
            store.close()

    def stored_event_seqs(self, agent_id: str) -> list[int]:
        """Sequences of every event stored for the agent (the platform must be stopped)."""
        return [e.seq for e in self.stored_events(agent_id)]

    def agent_record(self, agent_id: str) -> AgentRecord | None:
        """What the platform knows about the agent (the platform must be stopped)."""
        store = SqliteStore(str(self.data_dir / "stockade.db"))
        try:
            return store.get_agent(agent_id)
        finally:
            store.close()

    def stored_alert_rules(self, agent_id: str) -> list[str]:
        """Rules of every alert stored for the agent (the platform must be stopped)."""
        store = SqliteStore(str(self.data_dir / "stockade.db"))
        try:
            found = store.query_alerts(AlertQuery(limit=1_000_000))
            return [s.alert.rule for s in found if s.agent_id == agent_id]
        finally:
            store.close()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformThread]:
    """A running real platform for one test."""
    server = PlatformThread(tmp_path / "platform")
    server.start()
    yield server
    server.stop()
