"""The platform process: opens the data dir, then serves the console and agent listeners."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import socket
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from stockade.detect.incidents import DEFAULT_WINDOW_NS
from stockade.outputs import AlertOutputs, OutputSettings
from stockade.platform.api import PeerCertProtocol, create_agent_app, create_console_app
from stockade.platform.backends import (
    check_backends,
    open_bus,
    open_firewall_store,
    open_group_selectors,
    open_incident_store,
    open_profile_store,
    open_store,
)
from stockade.platform.bus import Bus, BusError
from stockade.platform.bus.signals import Signals
from stockade.platform.errors import (
    DataDirError,
    ListenError,
    PlatformConfigError,
    PlatformError,
)
from stockade.platform.pki import AGENT_CERT_VALIDITY, CertificateAuthority
from stockade.platform.services import (
    AccountService,
    AgentService,
    AlertService,
    AuditService,
    EnrollmentService,
    IncidentService,
    IngestService,
    PlatformMetrics,
    PlatformServices,
    ScanService,
)
from stockade.platform.services.accounts import LoginPacing, ensure_admin
from stockade.platform.services.actions import ActionService, action_store
from stockade.platform.services.enrollment import create_token
from stockade.platform.services.firewall import FirewallService
from stockade.platform.services.host_risk import HostRisk
from stockade.platform.services.incidents import BACKFILL_EVERY_S
from stockade.platform.services.profiles import ProfileService
from stockade.platform.services.response_policies import PolicyService
from stockade.platform.services.retention import RetentionPolicy
from stockade.platform.store import Store, StoreError
from stockade.platform.store.base import DEFAULT_QUERY_BUDGET_S
from stockade.platform.store.runner import StoreRunner
from stockade.platform.worker import attach_workers, worker_duties
from stockade.profiles.modes import DEFAULT_DISCOVER_MINUTES, ModePolicy

log = logging.getLogger(__name__)
DB_FILE = "stockade.db"
SHUTDOWN_GRACE_S = 1.0
REFUSAL_REPORT_S = 10  # how often ended windows of refused logins reach the audit log
SIGNALS_RETRY_S = 5.0  # how soon a node tries again to hear the bus's signals
AGENT_KEEP_ALIVE_S = 30  # agents call every few seconds: keep their TLS sessions open


@dataclass(frozen=True)
class PlatformConfig:
    """Where the platform keeps its state and where it listens."""

    data_dir: Path
    host: str = "127.0.0.1"
    console_port: int = 8700
    agent_port: int | None = None  # None -> console_port + 1
    store: str = "sqlite"  # an id in STORES
    store_location: str = ""  # file path or URL; "": stockade.db in the data dir
    bus: str = "inprocess"  # an id in BUSES
    bus_location: str = ""  # URL; "": the bus runs in this process
    query_budget_s: float = DEFAULT_QUERY_BUDGET_S  # a user query stops past this (422)
    vulndb: Path | None = None  # the scanner's vulnerability DB, for hosts' risk summaries
    console_tls: bool = True  # False: plain HTTP, only when asked for
    console_cert: Path | None = None  # the user's certificate (PEM); None: one from the CA
    console_key: Path | None = None
    agent_cert_validity_s: int = int(AGENT_CERT_VALIDITY.total_seconds())
    retention: RetentionPolicy = RetentionPolicy()  # events and alerts by age and size
    incident_window_s: int = DEFAULT_WINDOW_NS // 1_000_000_000  # alerts this close group
    incident_backfill_s: float = BACKFILL_EVERY_S  # how often alerts left ungrouped are sought
    profile_discover_minutes: int = DEFAULT_DISCOVER_MINUTES  # then a group is monitored
    outputs: OutputSettings = field(default_factory=OutputSettings)  # where alerts also go
    fleet_correlations: tuple[Path, ...] = ()  # correlation files; (): the shipped defaults
    login_pacing: LoginPacing = LoginPacing()  # how late failed and refused logins answer

    @property
    def runs_workers(self) -> bool:
        """True when the bus runs in this process, so its workers must too (`stockade up`,
        `stockade server` on the in-process bus); on a shared bus `stockade worker` does."""
        return not self.bus_location

    @property
    def effective_agent_port(self) -> int:
        """The agent port, defaulting to the console port + 1."""
        return self.agent_port if self.agent_port is not None else self.console_port + 1


def _profile_service(
    store: Store, runner: StoreRunner, config: PlatformConfig
) -> ProfileService | None:
    """Groups and profiles, where the store keeps them (modes by the configured policy)."""
    profiles = open_profile_store(store)
    policy = ModePolicy(discover_minutes=config.profile_discover_minutes)
    if profiles is None:
        return None
    return ProfileService(profiles, runner, policy, open_group_selectors(store))


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def prepare_data_dir(path: Path) -> None:
    """Create the data dir and prove it is writable; DataDirError in one line otherwise."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # keys, tokens and events: only the platform's user may look
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass  # another process may probe the same dir at once: unique names
    except FileExistsError:
        raise DataDirError(
            f"cannot use data dir {path}: a file is in the way; choose another --data-dir"
        ) from None
    except OSError as e:
        reason = e.strerror or errno.errorcode.get(e.errno or 0, str(e))
        raise DataDirError(
            f"cannot write data dir {path}: {reason}; choose another --data-dir or fix permissions"
        ) from e


def _open_located_store(config: PlatformConfig) -> Store:
    """The store at --store-location; PlatformConfigError saying so when it cannot open."""
    try:
        return open_store(config.store, config.store_location)
    except StoreError as e:
        raise PlatformConfigError(f"{e}; check --store-location") from e


def _check_console_cert(config: PlatformConfig) -> None:
    """PlatformConfigError unless the user's console certificate and key come as a readable pair."""
    given = [p for p in (config.console_cert, config.console_key) if p is not None]
    if not given:
        return
    if len(given) == 1:
        raise PlatformConfigError(
            "give the console's certificate and key together (--tls-cert, --tls-key)"
        )
    for path in given:
        if not path.is_file():
            raise PlatformConfigError(f"cannot read TLS file {path}: no such file")


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner and reports when it listens."""

    def __init__(self, config: uvicorn.Config, started: asyncio.Event) -> None:
        super().__init__(config)
        self._started_event = started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Do not install signal handlers: the caller owns the process's signals."""
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then report readiness."""
        await super().startup(sockets=sockets)
        self._started_event.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Shut down as uvicorn does, but abort connections still open after a grace period.

        An idle TLS client never answers the server's close_notify, which would otherwise
        hold the shutdown for the whole graceful timeout.
        """
        loop = asyncio.get_running_loop()
        aborter = loop.call_later(SHUTDOWN_GRACE_S, self._abort_connections)
        try:
            await super().shutdown(sockets=sockets)
        finally:
            aborter.cancel()

    def _abort_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            # a TLS transport closed twice has already dropped its protocol: abort() fails
            with contextlib.suppress(AttributeError, OSError):
                if isinstance(transport, asyncio.Transport):
                    transport.abort()
            self.server_state.connections.discard(connection)


async def _listen_for_signals(listen: Callable[[], Awaitable[None]]) -> None:
    """Hear the other API nodes' signals (orders, ended actions, revoked agents) through
    `listen`, trying again while the bus is out of reach: meanwhile an agent polling here
    gets an order at its next poll, and a revocation is seen at the next re-read."""
    while True:
        try:
            await listen()
            return
        except BusError as e:
            log.warning("%s; other API nodes' wake-ups missed (retry in %g s)", e, SIGNALS_RETRY_S)
            await asyncio.sleep(SIGNALS_RETRY_S)


class Platform:
    """The platform: state in a data dir, a console listener and an mTLS agent listener."""

    def __init__(
        self,
        config: PlatformConfig,
        ca: CertificateAuthority,
        services: PlatformServices,
        bus: Bus,
        first_admin_password: str | None,
    ) -> None:
        self.config = config
        self.first_admin_password = first_admin_password
        self._ca = ca
        self._services = services
        self._bus = bus
        self._outputs: AlertOutputs | None = None
        host = _url_host(config.host)
        scheme = "https" if config.console_tls else "http"
        self.console_url = f"{scheme}://{host}:{config.console_port}"
        self.agent_url = f"https://{host}:{config.effective_agent_port}"
        self.ca_pem = ca.cert_pem
        self.ca_path = ca.cert_path  # what a client trusts to reach the console over TLS
        self._closed = False

    @classmethod
    def open(cls, config: PlatformConfig) -> Platform:
        """Create (or reopen) the data dir, CA, database and first admin; PlatformError if not."""
        check_backends(config.store, config.bus)
        _check_console_cert(config)
        data_dir = config.data_dir.expanduser().absolute()
        prepare_data_dir(data_dir)
        try:
            ca = CertificateAuthority.load_or_create(data_dir / "pki")
            if config.store_location:  # a database elsewhere: its own error, not the dir's
                store = _open_located_store(config)
            else:
                store = open_store(config.store, str(data_dir / DB_FILE))
        except (OSError, StoreError) as e:
            raise DataDirError(
                f"cannot set up data dir {data_dir}: {e}; repair or move it, or choose another "
                "--data-dir"
            ) from e
        try:
            password = ensure_admin(store)
            bus = open_bus(config.bus, config.bus_location)
        except BaseException:
            store.close()
            raise
        runner = StoreRunner()
        metrics = PlatformMetrics()
        validity = dt.timedelta(seconds=config.agent_cert_validity_s)
        incidents = IncidentService(
            store, open_incident_store(store), runner, config.incident_window_s * 1_000_000_000
        )
        outputs = None
        if config.runs_workers:  # else `stockade worker` processes consume the shared bus
            try:
                outputs = attach_workers(store, runner, bus, metrics, incidents, config, data_dir)
            except BaseException:
                store.close()
                raise
        audit = AuditService(store, runner)
        signals = bus if isinstance(bus, Signals) else None
        actions = ActionService(action_store(store), runner, signals)
        services = PlatformServices(
            store=store,
            runner=runner,
            accounts=AccountService(store, runner, audit, config.login_pacing),
            audit=audit,
            agents=AgentService(store, runner, ca, validity, signals=signals),
            alerts=AlertService(store, runner),
            enrollment=EnrollmentService(store, runner, ca, validity),
            incidents=incidents,
            ingest=IngestService(store, runner, bus, metrics),
            metrics=metrics,
            scans=ScanService(store, runner),
            actions=actions,
            policies=PolicyService(action_store(store), runner, actions),
            profiles=_profile_service(store, runner, config),
            firewall=FirewallService(
                open_firewall_store(store), runner, open_group_selectors(store)
            ),
            query_budget_s=config.query_budget_s,
            host_risk=HostRisk(config.vulndb),
        )
        platform = cls(config, ca, services, bus, password)
        platform._outputs = outputs
        return platform

    @property
    def accounts(self) -> AccountService:
        """Users, passwords and tokens (for the CLI, which runs its calls with asyncio.run)."""
        return self._services.accounts

    @property
    def audit(self) -> AuditService:
        """The audit log."""
        return self._services.audit

    def create_enrollment_token(self, ttl_s: int = 3600, replaces_host: str = "") -> str:
        """A one-time token an agent exchanges for its certificate within `ttl_s` seconds;
        with `replaces_host`, enrolling that host with it revokes the host's active agent."""
        return create_token(self._services.store, ttl_s, replaces_host)

    @property
    def ca_fingerprint(self) -> str:
        """The CA certificate's SHA-256 fingerprint (hex), for agents to pin."""
        return self._ca.fingerprint

    def revoke_agent(self, agent_id: str) -> bool:
        """Refuse the agent's certificates from now on; False when it is not enrolled."""
        return self._services.store.revoke_agent(agent_id, time.time_ns())

    def _bind(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only then,
        # and without it every response waits ~40 ms for the client's delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, port))
        except OSError as e:
            sock.close()
            raise ListenError(
                f"cannot listen on {self.config.host}:{port}: {e.strerror}; "
                "choose another port or stop what uses it"
            ) from e
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    def _servers(self, started: list[asyncio.Event]) -> list[_EmbeddedServer]:
        common = {"lifespan": "off", "log_config": None, "access_log": False}
        extra_hosts = () if self.config.host in ("0.0.0.0", "::") else (self.config.host,)
        tls = self._ca.server_tls(extra_hosts)
        cert, key = self.config.console_cert, self.config.console_key
        on = self.config.console_tls
        console = uvicorn.Config(
            create_console_app(self._services),
            ssl_certfile=str(cert or tls.cert_path) if on else None,
            ssl_keyfile=str(key or tls.key_path) if on else None,
            timeout_graceful_shutdown=5,
            **common,  # type: ignore[arg-type]
        )
        agent = uvicorn.Config(
            create_agent_app(self._services),
            http=PeerCertProtocol,
            ssl_certfile=str(tls.cert_path),
            ssl_keyfile=str(tls.key_path),
            ssl_ca_certs=str(tls.ca_path),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
            timeout_keep_alive=AGENT_KEEP_ALIVE_S,
            timeout_graceful_shutdown=5,
            **common,  # type: ignore[arg-type]
        )
        return [_EmbeddedServer(console, started[0]), _EmbeddedServer(agent, started[1])]

    async def serve(self, ready: asyncio.Event | None = None) -> None:
        """Run both listeners until cancelled; sets `ready` once both listen."""
        if self._closed:
            raise PlatformError("platform is closed; open it again to serve")
        sockets = [self._bind(self.config.console_port)]
        try:
            sockets.append(self._bind(self.config.effective_agent_port))
        except ListenError:
            sockets[0].close()
            raise
        started = [asyncio.Event(), asyncio.Event()]
        servers = self._servers(started)
        tasks = [
            asyncio.create_task(s.serve(sockets=[sock]), name=f"stockade-{name}")
            for s, sock, name in zip(servers, sockets, ("console", "agent"), strict=True)
        ]
        svc = self._services
        duties = (
            worker_duties(
                svc.store, svc.runner, self.config, svc.metrics, self._outputs, svc.incidents
            )
            if self.config.runs_workers
            else []
        )
        background = [asyncio.create_task(duty) for duty in duties]
        reporting = asyncio.create_task(
            svc.accounts.report_refusals_every(REFUSAL_REPORT_S), name="stockade-refusals"
        )
        background.append(asyncio.create_task(_listen_for_signals(svc.actions.listen)))
        background.append(asyncio.create_task(_listen_for_signals(svc.agents.listen)))
        try:
            await self._wait_started(started, tasks)
            if ready is not None:
                ready.set()
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                if t.done() and t.exception() is not None:
                    raise PlatformError(f"listener {t.get_name()} failed: {t.exception()}")
        finally:
            for duty in background:
                duty.cancel()
            svc.actions.close()  # agents' long polls end now, not at the shutdown timeout
            reporting.cancel()
            for server in servers:
                server.should_exit = True
            await asyncio.wait([*tasks, *background, reporting])
            with contextlib.suppress(StoreError):  # counted refusals are not lost on shutdown
                await svc.accounts.report_refusals(final=True)
            for sock in sockets:
                sock.close()
            with contextlib.suppress(BusError):
                await self._bus.close()

    @staticmethod
    async def _wait_started(started: list[asyncio.Event], tasks: list[asyncio.Task[None]]) -> None:
        both: asyncio.Future[list[bool]] = asyncio.ensure_future(
            asyncio.gather(*(e.wait() for e in started))
        )
        try:
            waiting: list[asyncio.Future[Any]] = [both, *tasks]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            both.cancel()
        for t in tasks:
            if t.done():
                raise PlatformError(
                    f"listener {t.get_name()} stopped while starting: {t.exception()}"
                )

    def close(self) -> None:
        """Release the database and worker threads."""
        if self._closed:
            return
        self._closed = True
        if self._outputs is not None:
            self._outputs.close()
        self._services.accounts.close()
        self._services.runner.close()
        self._services.store.close()
