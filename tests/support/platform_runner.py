"""A real platform served from a background thread's event loop, restartable on its ports."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from stockade.agent import AgentConfig, hostinfo
from stockade.agent.enroll import Credentials, enroll
from stockade.model import Event, Host
from stockade.platform import Platform, PlatformConfig
from stockade.platform.services.retention import RetentionPolicy
from stockade.platform.store.base import AgentRecord, AlertQuery, EventQuery
from stockade.platform.store.postgres import PostgresStore
from stockade.platform.store.sqlite import SqliteStore
from tests.support.agent_client import TestAgent
from tests.support.polling import poll_value
from tests.support.ports import free_port

START_TIMEOUT_S = 30
USER_PASSWORD = "correct-horse-battery-9"  # of users made by `add_user`


def turned_away(answer: httpx.Response) -> bool:
    """A login refused for a moment (the platform is checking enough already), not locked out."""
    return answer.status_code == 429 and answer.headers.get("Retry-After") == "1"


class PlatformRunner:
    """Serves a `Platform` from its own thread; `stop()` then `start()` restarts it."""

    def __init__(self, data_dir: Path, store_url: str = "") -> None:
        """`store_url`: a `postgresql://` database to store in, else SQLite in `data_dir`."""
        self.data_dir = data_dir
        self.store_url = store_url
        self.config = PlatformConfig(
            data_dir=data_dir,
            store="postgresql" if store_url else "sqlite",
            store_location=store_url,
            console_port=free_port(),
            agent_port=free_port(),
            # tests send events at fixed past times: keep them whatever their age
            retention=RetentionPolicy(events_max_age_s=0, alerts_max_age_s=0),
        )
        self.admin_password = ""
        self._platform: Platform | None = None
        self._agents: list[TestAgent] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    @property
    def platform(self) -> Platform:
        """The running platform."""
        assert self._platform is not None, "the platform is not running"
        return self._platform

    @property
    def agent_url(self) -> str:
        """The agent port's URL (stable across restarts)."""
        return f"https://127.0.0.1:{self.config.effective_agent_port}"

    def start(self) -> PlatformRunner:
        """Open the data dir and serve until `stop()`; returns self once it listens."""
        self._platform = Platform.open(self.config)
        self.admin_password = self._platform.first_admin_password or self.admin_password
        self._failure = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S) or self._failure is not None:
            raise AssertionError(f"platform did not start: {self._failure!r}")
        return self

    def _serve(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            started = asyncio.Event()
            self._task = asyncio.create_task(self.platform.serve(started))
            waiter = asyncio.create_task(started.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        try:
            asyncio.run(main())
        except BaseException as e:  # reported by start() or stop()
            self._failure = e
            ready.set()

    def stop(self) -> None:
        """Close the test agents, cancel serving, wait for a clean shutdown, close the data dir."""
        for agent in self._agents:
            agent.client.close()
        self._agents.clear()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
            assert not self._thread.is_alive(), "platform did not stop"
        if self._platform is not None:
            self._platform.close()
        self._platform = self._thread = self._loop = self._task = None
        if self._failure is not None:
            raise self._failure

    @property
    def ca_fingerprint(self) -> str:
        """The platform CA's fingerprint, which agents pin when enrolling."""
        return self.platform.ca_fingerprint

    def token(self, replaces_host: str = "") -> str:
        """A one-time enrollment token; with `replaces_host`, one an admin made to enroll that
        host afresh (its active agent, if any, is revoked), as tests re-enroll one host."""
        return self.platform.create_enrollment_token(replaces_host=replaces_host)

    def agent_config(
        self, state_dir: Path, *, scan_images: bool = False, **settings: Any
    ) -> AgentConfig:
        """A real agent's config enrolling here (a fresh token replacing this machine's
        previous test agent, this CA pinned).

        Image scans are off unless asked: most tests do not need them and they cost time.
        `settings` are the other `AgentConfig` fields that differ from its defaults.
        """
        return AgentConfig(
            state_dir,
            self.agent_url,
            self.token(replaces_host=hostinfo.host_id(state_dir)),
            self.ca_fingerprint,
            scan_images=scan_images,
            **settings,
        )

    def credentials(self, state_dir: Path, host: Host) -> Credentials:
        """Enroll `state_dir` here as a real agent would (a fresh token that replaces the
        host's previous agent, this CA pinned)."""
        token = self.token(replaces_host=host.id)
        return enroll(state_dir, self.agent_url, token, host, self.ca_fingerprint)

    def console(self, source: str | None = None) -> httpx.Client:
        """A client for the console port (not logged in), trusting only the platform CA.

        `source` is a loopback address to call from (127.0.0.2, ...): another client address.
        """
        verify = ssl.create_default_context(cafile=str(self.platform.ca_path))
        transport = httpx.HTTPTransport(verify=verify, local_address=source)
        return httpx.Client(base_url=self.platform.console_url, transport=transport, timeout=30)

    def login_status(self, source: str, username: str, password: str) -> int:
        """One login's status from `source`; retried while turned away for a moment, as a
        client would."""
        with self.console(source) as c:
            body = {"username": username, "password": password}
            answer = poll_value(
                lambda: c.post("/api/v1/auth/login", json=body),
                lambda r: not turned_away(r),
                30,
                f"login of {username} from {source} not turned away",
            )
            return answer.status_code

    def login(self, username: str = "admin", password: str | None = None) -> httpx.Client:
        """A console client logged in (as admin unless told otherwise)."""
        client = self.console()
        secret = self.admin_password if password is None else password
        body = {"username": username, "password": secret}
        # the platform checks a few failed logins a second; a client retries after a moment
        r = poll_value(
            lambda: client.post("/api/v1/auth/login", json=body),
            lambda answer: not turned_away(answer),
            START_TIMEOUT_S,
            f"login of {username} not turned away",
        )
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return client

    def add_user(self, username: str, role: str, password: str = USER_PASSWORD) -> httpx.Client:
        """Create a user with `role` through the API as admin; returns its logged-in client."""
        admin = self.login()
        r = admin.post(
            "/api/v1/users", json={"username": username, "password": password, "role": role}
        )
        admin.close()
        assert r.status_code == 201, r.text
        return self.login(username, password)

    def enroll(
        self, tmp_path: Path, hostname: str = "node-1", host_id: str = "host-1"
    ) -> TestAgent:
        """A new test agent enrolled through the real endpoint (closed by `stop()`); it
        replaces (revokes) an earlier test agent of the same host id, as a reinstall would.
        """
        agent = TestAgent.enroll(
            self.platform.agent_url,
            self.platform.ca_pem,
            self.token(replaces_host=host_id),
            tmp_path,
            hostname=hostname,
            host_id=host_id,
        )
        self._agents.append(agent)
        return agent

    @contextlib.contextmanager
    def stored(self) -> Iterator[SqliteStore]:
        """The platform's store, read directly (the platform must be stopped)."""
        assert self._platform is None, "stop the platform before reading its store"
        with self.beside() as store:
            yield store

    @contextlib.contextmanager
    def beside(self) -> Iterator[SqliteStore]:
        """The platform's store opened a second time, beside the running platform."""
        store = (
            PostgresStore(self.store_url)
            if self.store_url
            else SqliteStore(str(self.data_dir / "stockade.db"))
        )
        try:
            yield store
        finally:
            store.close()

    def stored_events(self, agent_id: str) -> list[Event]:
        """Every event stored for the agent (the platform must be stopped)."""
        with self.stored() as store:
            found = store.query_events(EventQuery(limit=10_000_000))
        return [s.event for s in found if s.agent_id == agent_id]

    def stored_event_seqs(self, agent_id: str) -> list[int]:
        """Sequences of every event stored for the agent (the platform must be stopped)."""
        return [e.seq for e in self.stored_events(agent_id)]

    def stored_alert_rules(self, agent_id: str) -> list[str]:
        """Rules of every alert stored for the agent (the platform must be stopped)."""
        with self.stored() as store:
            found = store.query_alerts(AlertQuery(limit=1_000_000))
        return [s.alert.rule for s in found if s.agent_id == agent_id]

    def agent_record(self, agent_id: str) -> AgentRecord | None:
        """What the platform knows about the agent (the platform must be stopped)."""
        with self.stored() as store:
            return store.get_agent(agent_id)
