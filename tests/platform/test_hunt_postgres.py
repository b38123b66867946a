"""Hunts on the PostgreSQL store (a real server): SQLite's views, window and limits, a
read-only role that refuses hostile SQL in one line, Sigma hunts over stored events, and
the hunt API (SQL, Sigma, saved hunts run on schedule) of a platform on PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.hunt.engine import HuntError, HuntQuery
from stockade.hunt.sigma import sigma_hunt
from stockade.model import Event, Process
from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.services.saved_hunts import run_due, run_once
from stockade.platform.store import AgentRecord, EventQuery
from stockade.platform.store.hunting import Hunting, HuntingUnavailable
from stockade.platform.store.postgres import PostgresStore
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.server
STORE_KINDS = ("postgresql",)  # the API tests' platform (tests/platform/conftest.py)
HOUR = 3600 * 10**9
NOW = time.time_ns() // HOUR * HOUR  # partitions exist around now (made ahead)


def _exec(seq: int, ts: int, exe: str, *argv: str) -> Event:
    proc = Process(pid=100 + seq, name=Path(exe).name, exepath=exe, argv=argv, uid=0, euid=0)
    return Event(type="execve", ts=ts, proc=proc, seq=seq, host_id="h1")


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    """A store with one event per hour over the last 36 hours, and a nohup exec just now."""
    s = PostgresStore(postgres_url)
    s.add_agent(
        AgentRecord(id="a1", hostname="n1", host_id="h1", cert_fingerprint="f", enrolled_at=1)
    )
    events = [
        _exec(i, NOW - (36 - i) * HOUR + 1, "/usr/bin/curl" if i % 2 else "/bin/sh", "x")
        for i in range(1, 36)
    ]
    events.append(_exec(36, NOW - 1, "/usr/bin/nohup", "nohup", "sleep", "60"))
    batch = Batch(agent_id="a1", first_seq=1, last_seq=36, events=events)
    blobs = [msgspec.msgpack.encode(e) for e in events]
    s.store_batch(IngestBatch(batch=batch, event_blobs=blobs), NOW)
    yield s
    s.close()


@pytest.fixture
def hunting(store: PostgresStore) -> Hunting:
    return store.hunting()


def test_views_window_and_limits_are_sqlites(hunting: Hunting) -> None:
    """The default window is the last 24 h; given bounds replace it; rows cut at the limit."""
    run = hunting.source.run
    result = run(HuntQuery("SELECT count(*) FROM events"), NOW)
    assert result.rows == [[25]] and result.until - result.since == 24 * HOUR
    grouped = run(
        HuntQuery(
            "SELECT proc_name, count(*) FROM events WHERE evt_type = 'execve' "
            "GROUP BY proc_name ORDER BY proc_name",
            since=NOW - 48 * HOUR,
            until=NOW,
        ),
        NOW,
    )
    assert grouped.rows == [["curl", 18], ["nohup", 1], ["sh", 17]]
    assert grouped.columns == ["proc_name", "count"]
    cut = run(HuntQuery("SELECT * FROM events", limit=5), NOW)
    assert len(cut.rows) == 5 and cut.truncated
    hosts = run(HuntQuery("SELECT hostname, agent_id FROM hosts"), NOW)
    assert hosts.rows == [["n1", "a1"]]


def test_inventory_tables_have_osquery_columns(store: PostgresStore, hunting: Hunting) -> None:
    """An osquery user's query over deb_packages works unchanged."""
    store.connection().execute(
        "INSERT INTO host_inventory VALUES ('h1', 'deb_packages', ?, 0)",
        ('{"name": "bash", "version": "5.2", "container": ""}',),
    )
    result = hunting.source.run(HuntQuery("SELECT name, version FROM deb_packages"), NOW)
    assert result.rows == [["bash", "5.2"]]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO events (agent_id) VALUES ('x')",
        "DELETE FROM host_inventory",
        "WITH gone AS (DELETE FROM containers RETURNING 1) SELECT count(*) FROM gone",
        "SELECT ts FROM public.events",  # around the window
        "SELECT * FROM public.sessions",  # the console sessions: not a hunt view
        "SELECT * FROM public.hunt_login",  # the hunt role's own password
        "SELECT * FROM query_to_xml('SELECT * FROM public.users', true, false, '')",
        "SELECT set_config('role', 'postgres', false)",
        "SELECT pg_read_file('/etc/passwd')",
        "SET ROLE postgres",
        "CREATE TABLE t (x int)",
        "SELECT 1; DELETE FROM public.events",
        "COPY (SELECT 1) TO '/tmp/out'",
    ],
)
def test_hostile_sql_is_refused_in_one_line(
    store: PostgresStore, hunting: Hunting, sql: str
) -> None:
    """Writes, tables outside the views, other roles and files fail with a one-line error."""
    with pytest.raises(HuntError) as refused:
        hunting.source.run(HuntQuery(sql), NOW)
    message = str(refused.value)
    assert message.startswith("hunt: ") and "\n" not in message
    assert len(store.query_events(EventQuery(limit=100))) == 36


def test_the_window_cannot_be_widened_from_inside(hunting: Hunting) -> None:
    """The window row belongs to the store's role: a hunt can neither write nor see past it."""
    sql = "SELECT count(*) FROM events"
    with pytest.raises(HuntError, match="only SELECT"):
        hunting.source.run(HuntQuery("UPDATE public.hunt_windows SET win_since = 0"), NOW)
    assert hunting.source.run(HuntQuery(sql, since=NOW - HOUR, until=NOW), NOW).rows == [[2]]


def test_a_query_over_its_time_limit_is_stopped(hunting: Hunting) -> None:
    """A runaway query is cancelled by PostgreSQL at its time limit."""
    endless = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    )
    with pytest.raises(HuntError, match="time limit"):
        hunting.source.run(HuntQuery(endless, timeout_s=0.3), NOW)


def test_a_wrong_query_says_why(hunting: Hunting) -> None:
    """An unknown column is a one-line error, not a traceback."""
    with pytest.raises(HuntError, match="does not exist"):
        hunting.source.run(HuntQuery("SELECT no_such_column FROM events"), NOW)


def test_a_corpus_sigma_rule_finds_the_stored_exec(hunting: Hunting, corpus: Path) -> None:
    """The corpus's nohup rule matches the stored nohup exec and nothing else."""
    rules = corpus / "sigma" / "rules" / "linux" / "process_creation"
    rule = rules / "proc_creation_lnx_nohup.yml"
    result = sigma_hunt(hunting.source, [rule], (NOW - 24 * HOUR, NOW))
    assert [(m.rule, m.proc_cmdline, m.agent_id) for m in result.matches] == [
        ("Nohup Execution", "nohup sleep 60", "a1")
    ]
    assert result.scanned == 25


def test_hunt_api_on_postgresql(running: PlatformRunner, admin: httpx.Client) -> None:
    """SQL and Sigma hunts answer on a platform over PostgreSQL; a write is a 400."""
    running.enroll(running.data_dir / "agent", hostname="pg-hunted")
    answer = admin.post("/api/v1/hunt", json={"sql": "SELECT hostname FROM hosts"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [["pg-hunted"]]
    refused = admin.post("/api/v1/hunt", json={"sql": "DELETE FROM alerts"})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("hunt: ")
    sigma = "title: t\nlogsource: {category: process_creation, product: linux}\n"
    sigma += "detection: {sel: {Image|endswith: /nohup}, condition: sel}\n"
    found = admin.post("/api/v1/hunt/sigma", json={"yaml": sigma})
    assert found.status_code == 200, found.text
    assert found.json()["matches"] == [] and found.json()["refused"] == []


def test_saved_hunt_runs_on_schedule_on_postgresql(
    running: PlatformRunner, admin: httpx.Client
) -> None:
    """A saved hunt is stored, runs on its schedule and raises its alert, on PostgreSQL."""
    body = {"name": "pg host seen", "sql": "SELECT count(*) FROM hosts", "interval_s": 1}
    created = admin.post("/api/v1/hunts", json=body)
    assert created.status_code == 201, created.text
    assert admin.post("/api/v1/hunts", json=body).status_code == 409
    hunt_id = created.json()["id"]
    stored = poll_value(
        lambda: admin.get(f"/api/v1/hunts/{hunt_id}").json(),
        lambda h: h["alerts"] >= 1 and h["last_rows"] >= 1,
        30,
        "the saved hunt's alert",
    )
    assert stored["last_error"] == "" and stored["last_rows"] >= 1
    rules = admin.post("/api/v1/hunt", json={"sql": "SELECT rule FROM alerts"}).json()["rows"]
    assert ["Hunt: pg host seen"] in rules


def test_two_workers_run_a_due_saved_hunt_once(store: PostgresStore, postgres_url: str) -> None:
    """Two workers' stores on one database, both seeing a hunt due: one run, one alert."""
    other = PostgresStore(postgres_url)
    try:
        schema = "SELECT CAST(oid AS BIGINT) FROM pg_namespace WHERE nspname = 'hunt_views'"
        first = store.hunting()
        made = store.connection().execute(schema).fetchone()
        second = other.hunting()  # the views are the same: left alone, not made again
        assert store.connection().execute(schema).fetchone() == made
        first.saved.create("fleet", "SELECT count(*) FROM events", 60, "Warning", "admin", NOW)
        (seen,) = second.saved.list()
        assert first.saved.claim(seen, NOW)
        assert not second.saved.claim(seen, NOW)  # its view of the same run is stale
        assert run_due(second, NOW + 1) == 0  # not due again before its interval
        assert run_once(first, seen, NOW) == 1
        (hunt,) = second.saved.list()
    finally:
        other.close()
    assert hunt.alerts == 1 and hunt.last_run_at == NOW and hunt.last_rows == 1


def test_a_store_role_that_cannot_make_the_hunt_role_says_so(postgres: PostgresServer) -> None:
    """Without CREATEROLE the store works but hunting is unavailable, in one clear line."""
    postgres.sql("CREATE ROLE plain_owner LOGIN")
    postgres.sql("CREATE DATABASE plain_owned OWNER plain_owner")
    url = postgres.url("plain_owned").replace("postgres@", "plain_owner@")
    store = PostgresStore(url)
    try:
        with pytest.raises(HuntingUnavailable, match="CREATEROLE") as refused:
            store.hunting()
    finally:
        store.close()
    assert "\n" not in str(refused.value)


def test_hunt_cli_reads_the_configured_store(
    store: PostgresStore, postgres_url: str, tmp_path: Path
) -> None:
    """`stockade hunt` on PostgreSQL, by flags or by the servers' configuration file, as
    the hunt role (a write refused in one line); an unreachable store said in one line."""
    sql = "SELECT proc_name, count(*) FROM events GROUP BY proc_name ORDER BY proc_name"
    flags = ["--store", "postgresql", "--store-location", postgres_url]
    out = CliRunner().invoke(app, ["hunt", "--json", "--since", "48", *flags, sql])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["rows"] == [["curl", 18], ["nohup", 1], ["sh", 17]]
    config = tmp_path / "stockade.yaml"
    config.write_text(f"server:\n  store: postgresql\n  store_location: {postgres_url}\n")
    out = CliRunner().invoke(app, ["hunt", "--config", str(config), "SELECT hostname FROM hosts"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == ["hostname", "n1"]
    refused = CliRunner().invoke(app, ["hunt", *flags, "DELETE FROM events"])
    assert refused.exit_code != 0 and refused.stderr.count("\n") == 1, refused.output
    gone = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    missing = CliRunner().invoke(
        app, ["hunt", "--store", "postgresql", "--store-location", gone, "SELECT 1"]
    )
    assert missing.exit_code != 0 and missing.stderr.count("\n") == 1, missing.output
    assert "no_such_database" in missing.stderr
