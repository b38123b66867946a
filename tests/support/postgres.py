"""A real PostgreSQL 15 server (Debian's packages) on loopback, one per test session.

`initdb` into a temporary directory, `postgres` on a free port (as the `postgres` user
when the tests run as root: PostgreSQL refuses to run as root). Each test gets a database
of its own, cloned from a template that holds the store's migrated schema, so a test
pays for `CREATE DATABASE`, not for the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from tests.support.ci import skip_or_fail
from tests.support.polling import poll_until
from tests.support.ports import free_port
from tests.support.processes import end

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from stockade.platform.store.postgres import PostgresStore

BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "stockade_template"
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# What deploy/ runs PostgreSQL with (docs/deploy.md says why), and the benchmarks too: all
# durable (fsync, synchronous commit, full-page writes on); full-page images compressed,
# and checkpoints (each followed by a full-page image of every page written again) spaced
PRODUCTION_SETTINGS = ("wal_compression=lz4", "max_wal_size=8GB", "checkpoint_timeout=15min")


@dataclass
class PostgresServer:
    """A running server: its port, data directory and process."""

    port: int
    root: Path
    process: subprocess.Popen[bytes]
    command: list[str | Path]
    uid: int | None
    gid: int | None
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        """A `postgresql://` URL of one of its databases (trusted loopback login)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser."""
        asyncio.run(_execute(self.url(database), statement))

    def create_database(self, template: str | None = TEMPLATE) -> str:
        """A new empty database (a copy of `template`); its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        clone = f" TEMPLATE {template}" if template else ""
        self.sql(f"CREATE DATABASE {name}{clone}")
        return self.url(name)

    @contextlib.contextmanager
    def database_down(self, url: str) -> Iterator[None]:
        """The database of `url` out of reach for the block, the server up for the others:
        its connections ended and new ones refused, as a store down looks to its clients."""
        name = url.rsplit("/", 1)[1]
        self.sql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
        self.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            yield
        finally:
            self.sql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")

    def halt(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected); its files stay."""
        end(self.process, signal.SIGINT)  # SIGTERM would wait for every client to leave

    def resume(self) -> None:
        """Start the halted server again on the same port and files."""
        self.process = _spawn(self.command, self.root, self.uid, self.gid)
        poll_until(lambda: asyncio.run(_ready(self.url())), 60, "PostgreSQL to accept again")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)


async def _execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _ready(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def start_postgres(settings: tuple[str, ...] = FAST_SETTINGS) -> PostgresServer:
    """initdb and start a server; skip (fail under CI=true) without Debian's PostgreSQL 15."""
    if not (BIN / "initdb").exists():
        skip_or_fail(f"PostgreSQL 15 not installed ({BIN}/initdb missing)")
    root = Path(tempfile.mkdtemp(prefix="stockade-pg-"))
    user = _server_user()
    shutil.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    uid, gid = (user.pw_uid, user.pw_gid) if os.geteuid() == 0 else (None, None)
    initdb: list[str | Path] = [BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust"]
    initdb += ["-E", "UTF8", "--no-sync", "--no-locale"]  # C: texts sort by bytes, as in SQLite
    subprocess.run(
        initdb,
        check=True,
        capture_output=True,
        user=uid,
        group=gid,
    )
    port = free_port()
    options = [f"-c{s}" for s in (*settings, "max_connections=300", "listen_addresses=127.0.0.1")]
    command: list[str | Path] = [BIN / "postgres", "-D", data, "-p", str(port), "-k", root]
    command += options
    process = _spawn(command, root, uid, gid)
    server = PostgresServer(port, root, process, command, uid, gid)
    poll_until(lambda: asyncio.run(_ready(server.url())), 60, "PostgreSQL to accept connections")
    return server


def _spawn(
    command: list[str | Path], root: Path, uid: int | None, gid: int | None
) -> subprocess.Popen[bytes]:
    with (root / "server.log").open("ab") as log:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, user=uid, group=gid)


def _server_user() -> pwd.struct_passwd:
    """Who runs the server: `postgres` for root (PostgreSQL refuses root), else ourselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail("no `postgres` user to run PostgreSQL as (apt-get install postgresql)")


def store_with_agents(url: str, host_of: Mapping[str, str]) -> PostgresStore:
    """A PostgreSQL store at `url` with each agent of `host_of` enrolled on its host id."""
    from stockade.platform.store import AgentRecord
    from stockade.platform.store.postgres import PostgresStore

    store = PostgresStore(url)
    for agent, host_id in host_of.items():
        store.add_agent(
            AgentRecord(
                id=agent, hostname=agent, host_id=host_id, cert_fingerprint=agent, enrolled_at=1
            )
        )
    return store
