"""The alert console's store calls on SQLite: keyset pages in every order, filters, triage, stats.

Every sort is checked the same way: reading page after page by key, with small pages, gives
exactly the whole ordered list (no row twice, none lost, ties on time included), and each
order's first page reads its own index rather than sorting the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from stockade.model.alerts import Alert, Priority
from stockade.model.entities import Container
from stockade.model.events import Event
from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.store import (
    AgentRecord,
    sqlite_alert_pages,
    sqlite_alert_words,
    sqlite_budget,
)
from stockade.platform.store.alert_console import (
    AlertFilter,
    AlertPageQuery,
    AlertSort,
    AlertStatus,
    ConsoleAlert,
)
from stockade.platform.store.postgres import PostgresStore
from stockade.platform.store.sqlite import SqliteStore
from stockade.platform.store.sqlite_alert_words import WordPlan, text_match
from stockade.platform.timestamps import parse_ns
from tests.support.agent_client import make_alert, make_event
from tests.support.postgres import PostgresServer

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
RULES = ["Write below etc", "Terminal shell in container", "Reverse shell", "Crypto miner"]
PRIORITIES = ["Critical", "Warning", "Notice", "Error", "Informational"]
CONTAINERS = [
    Container(id="a" * 64, name="web", image="registry.local/web:1", runtime="podman"),
    Container(id="b" * 64, name="db", image="registry.local/db:2", runtime="podman"),
    Container.host(),
]
COUNT = 37
CONSOLE_MIGRATION = 9  # alerts gain the console's columns and text index


def _alerts() -> tuple[list[Event], list[Alert]]:
    events: list[Event] = []
    alerts: list[Alert] = []
    for i in range(COUNT):
        container = CONTAINERS[i % 3]
        # pairs of alerts share a time: ties must page by id
        event = make_event(2 * i + 1, T0 + (i // 2) * S, container=container, pid=1000 + i)
        alert = make_alert(2 * i + 2, event, rule=RULES[i % 4], priority=PRIORITIES[i % 5])
        alert.tags = ["mitre_execution", f"T10{i % 3}"] if i % 2 else ["host"]
        alert.hostname = f"node-{i % 2}"
        alert.count = 1 + i % 4
        if not container.is_host:
            alert.output_fields["container.name"] = container.name
        events.append(event)
        alerts.append(alert)
    return events, alerts


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """The SQLite store with the alerts (for what is SQLite's own: its query plans)."""
    yield from _filled(SqliteStore(str(tmp_path_factory.mktemp("pages") / "db.sqlite")))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteStore]:
    """Each store with the alerts (PostgreSQL: a database of its own)."""
    if request.param == "sqlite":
        yield from _filled(SqliteStore(str(tmp_path_factory.mktemp("pages") / "db.sqlite")))
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        yield from _filled(PostgresStore(server.create_database()))


def _filled(s: SqliteStore) -> Iterator[SqliteStore]:
    s.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    events, alerts = _alerts()
    batch = Batch(agent_id="a1", first_seq=1, last_seq=2 * COUNT, events=events, alerts=alerts)
    s.store_batch(
        IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events]), T0
    )
    yield s
    s.close()


def _all_pages(store: SqliteStore, query: AlertPageQuery) -> list[ConsoleAlert]:
    found: list[ConsoleAlert] = []
    for _ in range(COUNT + 1):
        page = store.page_alerts(query)
        found += page.alerts
        if page.next is None:
            return found
        query = AlertPageQuery(query.filter, query.sort, query.reverse, page.next, query.limit)
    raise AssertionError("paging did not end")


def _key(sort: AlertSort, a: ConsoleAlert) -> tuple[object, ...]:
    """The order each sort promises: its column, then newest first (by time, then id)."""
    alert = a.stored.alert
    newest = (-parse_ns(alert.time), -a.triage.id)
    column: object = {
        AlertSort.TIME: 0,
        AlertSort.PRIORITY: int(Priority.parse(alert.priority)),
        AlertSort.RULE: alert.rule,
        AlertSort.HOST: alert.hostname,
        AlertSort.CONTAINER: str(alert.output_fields.get("container.name") or ""),
    }[sort]
    return (column, *newest)


@pytest.mark.parametrize("reverse", [False, True], ids=["natural", "reversed"])
@pytest.mark.parametrize("sort", list(AlertSort), ids=str)
@pytest.mark.parametrize("limit", [1, 4, 50])
def test_pages_by_key_give_the_whole_ordered_list(
    any_store: SqliteStore, sort: AlertSort, reverse: bool, limit: int
) -> None:
    found = _all_pages(any_store, AlertPageQuery(sort=sort, reverse=reverse, limit=limit))
    assert len({a.triage.id for a in found}) == COUNT == len(found)
    expected = sorted(found, key=lambda a: _key(sort, a), reverse=reverse)
    assert [a.triage.id for a in found] == [a.triage.id for a in expected]


def test_pages_with_a_host_filter_merge_its_alternatives(any_store: SqliteStore) -> None:
    query = AlertPageQuery(AlertFilter(host="h"), AlertSort.RULE, limit=3)
    found = _all_pages(any_store, query)
    assert len(found) == COUNT
    assert [a.stored.alert.rule for a in found] == sorted(a.stored.alert.rule for a in found)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (AlertFilter(rule="Reverse shell"), lambda i: i % 4 == 2),
        (AlertFilter(priority="critical"), lambda i: i % 5 == 0),
        (AlertFilter(min_priority=int(Priority.ERROR)), lambda i: i % 5 in (0, 3)),
        (AlertFilter(container="web"), lambda i: i % 3 == 0),
        (AlertFilter(container="b" * 12), lambda i: i % 3 == 1),
        (AlertFilter(image="registry.local/db:2"), lambda i: i % 3 == 1),
        (AlertFilter(agent="a1"), lambda i: True),
        (AlertFilter(agent="a2"), lambda i: False),
        (AlertFilter(tags=("mitre_execution",)), lambda i: i % 2 == 1),
        (AlertFilter(tags=("mitre_execution", "T101")), lambda i: i % 2 == 1 and i % 3 == 1),
        (AlertFilter(tags=("mitre",)), lambda i: False),  # tags match whole
        (AlertFilter(text="revers*"), lambda i: i % 4 == 2),  # word* matches as a prefix
        (AlertFilter(text="revers"), lambda i: False),  # words match whole
        (AlertFilter(text="REVERSE shell"), lambda i: i % 4 == 2),
        (AlertFilter(text="reverse web"), lambda i: i % 4 == 2 and i % 3 == 0),
        (AlertFilter(text="proc.name=sh"), lambda i: True),
        (AlertFilter(text='"'), lambda i: True),  # no word: no text filter
        (AlertFilter(since=T0 + 3 * S, until=T0 + 5 * S), lambda i: 3 <= i // 2 <= 5),
    ],
    ids=lambda v: repr(v) if not callable(v) else "",
)
def test_filters(any_store: SqliteStore, given: AlertFilter, expected: object) -> None:
    assert callable(expected)
    found = _all_pages(any_store, AlertPageQuery(given, limit=7))
    seqs = sorted(a.stored.alert.seq for a in found)
    assert seqs == [2 * i + 2 for i in range(COUNT) if expected(i)]


def test_text_match_quotes_every_word() -> None:
    assert text_match('a"b c*', ("x",)) == '"a""b" AND "c"* AND tags : "x"'
    assert text_match("-- ..") == ""


def test_triage_is_stored_with_who_and_when(tmp_path: Path) -> None:
    s = SqliteStore(str(tmp_path / "db.sqlite"))
    s.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    event = make_event(1, T0)
    batch = Batch(
        agent_id="a1", first_seq=1, last_seq=2, events=[event], alerts=[make_alert(2, event)]
    )
    s.store_batch(IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(event)]), T0)
    [alert] = s.page_alerts(AlertPageQuery()).alerts
    assert (alert.triage.status, alert.triage.status_by, alert.triage.status_at) == (
        AlertStatus.NEW,
        "",
        None,
    )
    changed = s.set_alert_status(alert.triage.id, AlertStatus.FALSE_POSITIVE, "ana", 42)
    assert changed is not None
    assert (changed.triage.status, changed.triage.status_by, changed.triage.status_at) == (
        AlertStatus.FALSE_POSITIVE,
        "ana",
        42,
    )
    assert s.set_alert_status(999, AlertStatus.RESOLVED, "ana", 43) is None
    new = AlertPageQuery(AlertFilter(status=AlertStatus.NEW))
    assert s.page_alerts(new).alerts == []
    s.close()


def test_stats_count_by_bucket_priority_and_group(any_store: SqliteStore) -> None:
    stats = any_store.alert_stats(T0, T0 + 20 * S, buckets=10)
    assert stats.bucket_ns == 2 * S
    assert sum(n for _, _, n in stats.series) == COUNT
    by_bucket = dict.fromkeys(range(10), 0)
    for bucket, _, n in stats.series:
        by_bucket[bucket] += n
    assert by_bucket[0] == 4  # alerts 0-3: times T0, T0, T0+1s, T0+1s
    rules = {t.key: (t.alerts, t.occurrences) for t in stats.top_rules}
    _, alerts = _alerts()
    for rule in RULES:
        mine = [a for a in alerts if a.rule == rule]
        assert rules[rule] == (len(mine), sum(a.count for a in mine))
    containers = {t.label: t.alerts for t in stats.top_containers}
    assert containers == {"web": 13, "db": 12, "": 12}
    assert {t.key for t in stats.top_images} == {"registry.local/web:1", "registry.local/db:2"}
    assert [(t.key, t.alerts) for t in stats.by_status] == [("new", COUNT)]


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        (AlertSort.TIME, "alerts_ts"),
        (AlertSort.PRIORITY, "alerts_priority_num_ts"),
        (AlertSort.RULE, "alerts_rule_ts"),
        (AlertSort.HOST, "alerts_hostname_ts"),
        (AlertSort.CONTAINER, "alerts_container_name_ts"),
    ],
)
def test_each_order_reads_its_index(store: SqliteStore, sort: AlertSort, index: str) -> None:
    conn = store._conn()
    assert isinstance(conn, sqlite3.Connection)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        page = store.page_alerts(AlertPageQuery(sort=sort, limit=2))
        store.page_alerts(AlertPageQuery(sort=sort, after=page.next, limit=2))
    finally:
        conn.set_trace_callback(None)
    first, after = [s for s in statements if "ORDER BY" in s]
    for sql in (first, after):
        plan = " ".join(str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert index in plan, plan
        if sql is first:  # read in index order: nothing sorted
            assert "TEMP B-TREE" not in plan, plan


def test_an_alert_is_found_by_its_id(any_store: SqliteStore) -> None:
    first = any_store.page_alerts(AlertPageQuery(limit=COUNT)).alerts
    again = [any_store.get_alert(a.triage.id) for a in first]
    assert [a.triage.id for a in first] == [a.triage.id for a in again if a is not None]
    assert any_store.get_alert(10**9) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (AlertFilter(text="reverse"), lambda i: i % 4 == 2),
        (AlertFilter(tags=("mitre_execution", "T101")), lambda i: i % 2 == 1 and i % 3 == 1),
        (AlertFilter(text="etc", container="web"), lambda i: i % 4 == 0 and i % 3 == 0),
    ],
    ids=["text", "tags", "text-and-container"],
)
@pytest.mark.parametrize("plan", list(WordPlan), ids=lambda p: str(p.value))
def test_each_way_of_matching_words_gives_the_same_answer(
    store: SqliteStore, plan: WordPlan, given: AlertFilter, expected: object
) -> None:
    assert callable(expected)
    conn = store._conn()
    for sort in AlertSort:
        for walk in (False, True):
            query, seqs = AlertPageQuery(given, sort, limit=3), []
            for _ in range(COUNT):
                page = sqlite_alert_pages.read_page(conn, query, walk, plan)
                seqs += [a.stored.alert.seq for a in page.alerts]
                if page.next is None:
                    break
                query = AlertPageQuery(given, sort, after=page.next, limit=3)
            assert sorted(seqs) == [2 * i + 2 for i in range(COUNT) if expected(i)]


@pytest.mark.parametrize(
    ("few", "share", "plan", "counted"),
    [
        (1_000, 0.2, WordPlan.READ, 19),  # 19 of 37 alerts: fewer than 1,000
        (2, 0.9, WordPlan.LISTED, 19),  # 19 of 37: at least 2, short of 90 %
        (2, 0.5, WordPlan.TESTED, 19),  # 19 of 37: at least half
    ],
)
def test_how_words_are_matched_follows_how_many_alerts_they_match(
    store: SqliteStore,
    monkeypatch: pytest.MonkeyPatch,
    few: int,
    share: float,
    plan: WordPlan,
    counted: int,
) -> None:
    monkeypatch.setattr(sqlite_alert_words, "FEW_MATCHES", few)
    monkeypatch.setattr(sqlite_alert_words, "COMMON_SHARE", share)
    words = sqlite_alert_words.word_plan(store._conn(), text_match("", ("host",)))
    assert (words.plan, words.matches) == (plan, counted)


def test_alerts_stored_before_the_console_get_its_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockade.platform.store import migrations

    path = str(tmp_path / "old.sqlite")
    before = tuple(m for m in migrations.MIGRATIONS if m[0] < CONSOLE_MIGRATION)
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    old = SqliteStore(path)  # the schema as it was before the alert console
    event = make_event(1, T0, container=CONTAINERS[0])
    alert = make_alert(2, event, rule="Old rule")
    alert.tags, alert.count, alert.hostname = ["mitre_execution", "T1059"], 9, "old-node"
    with old._write() as conn:  # the inserts of that time: no console columns
        conn.execute(
            "INSERT INTO agents (id, hostname, host_id, cert_fingerprint, enrolled_at) "
            "VALUES ('a1', 'h', 'host-1', 'f', 1)"
        )
        conn.execute(
            "INSERT INTO alerts (agent_id, seq, event_seq, ts, host_id, container_id, rule, "
            "priority, priority_num, output, proc_name, proc_pid, proc_cmdline, body) "
            "VALUES ('a1', 2, 1, ?, 'host-1', ?, 'Old rule', 'Warning', 4, 'out', 'sh', 1, "
            "'sh', ?)",
            (T0, CONTAINERS[0].id, msgspec.json.encode(alert).decode()),
        )
        conn.execute(
            "INSERT INTO containers (id, name, image, image_digest, runtime, first_seen, "
            "last_seen, host_id, agent_id) "
            "VALUES (?, 'web', 'registry.local/web:1', '', 'podman', 0, 0, 'host-1', 'a1')",
            (CONTAINERS[0].id,),
        )
    old.close()
    monkeypatch.undo()
    store = SqliteStore(path)
    try:
        [found] = store.page_alerts(AlertPageQuery(AlertFilter(text="old", tags=("T1059",)))).alerts
        assert found.triage.status is AlertStatus.NEW
        by_name = store.page_alerts(AlertPageQuery(AlertFilter(image="registry.local/web:1")))
        assert [a.triage.id for a in by_name.alerts] == [found.triage.id]
        stats = store.alert_stats(T0, T0 + S, 1)
        assert [(t.label, t.occurrences) for t in stats.top_containers] == [("web", 9)]
        assert [t.key for t in store.alert_stats(T0, T0 + S, 1).top_images] == [
            "registry.local/web:1"
        ]
        assert store.page_alerts(AlertPageQuery(sort=AlertSort.HOST)).alerts[0].triage.id == 1
    finally:
        store.close()


@pytest.mark.parametrize(
    "given",
    [
        AlertFilter(container="web"),
        AlertFilter(host="h", status=AlertStatus.NEW),
        AlertFilter(min_priority=int(Priority.ERROR), image="registry.local/db:2"),
        AlertFilter(rule="Reverse shell", text="shell"),
        AlertFilter(tags=("T101",), agent="a1"),
    ],
    ids=["container", "host-status", "priority-image", "rule-text", "tag-agent"],
)
@pytest.mark.parametrize("sort", list(AlertSort), ids=str)
def test_walking_the_sort_or_reading_the_filters_gives_one_answer(
    any_store: SqliteStore, given: AlertFilter, sort: AlertSort
) -> None:
    conn = any_store._conn()
    pages: dict[bool, list[int]] = {}
    for walk in (True, False):
        query, ids = AlertPageQuery(given, sort, limit=3), []
        for _ in range(COUNT):
            page = sqlite_alert_pages.read_page(conn, query, walk)
            ids += [a.triage.id for a in page.alerts]
            if page.next is None:
                break
            query = AlertPageQuery(given, sort, after=page.next, limit=3)
        pages[walk] = ids
    assert pages[True] == pages[False] and pages[True]


@pytest.mark.parametrize(("few_rows", "walked"), [(5_000, False), (1, True)], ids=["few", "many"])
def test_a_walk_is_tried_only_when_the_filters_match_many(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, few_rows: int, walked: bool
) -> None:
    monkeypatch.setattr(sqlite_alert_pages, "FEW_ROWS", few_rows)
    conn = store._conn()
    assert isinstance(conn, sqlite3.Connection)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        page = store.page_alerts(AlertPageQuery(AlertFilter(container="web"), AlertSort.RULE))
    finally:
        conn.set_trace_callback(None)
    assert len(page.alerts) == 13
    assert any("+a.container_id" in s for s in statements) is walked


@pytest.mark.parametrize(("steps", "read"), [(0, False), (1, True)], ids=["walked", "read"])
def test_a_listed_walk_past_its_steps_reads_the_matches_instead(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, steps: int, read: bool
) -> None:
    monkeypatch.setattr(sqlite_alert_words, "FEW_MATCHES", 2)  # "host": 19 matches, listed
    monkeypatch.setattr(sqlite_alert_words, "COMMON_SHARE", 0.9)
    monkeypatch.setattr(sqlite_alert_words, "STEPS_PER_ROW_READ", steps)
    monkeypatch.setattr(sqlite_budget, "PROGRESS_EVERY_OPS", 1)  # stop at the first look
    conn = store._conn()
    assert isinstance(conn, sqlite3.Connection)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        page = store.page_alerts(AlertPageQuery(AlertFilter(tags=("host",)), AlertSort.RULE))
    finally:
        conn.set_trace_callback(None)
    assert [a.stored.alert.seq for a in page.alerts] == [
        a.stored.alert.seq
        for a in _all_pages(
            store, AlertPageQuery(AlertFilter(tags=("host",)), AlertSort.RULE, limit=50)
        )
    ]
    assert len(page.alerts) == 19
    assert any(" a.id IN (SELECT rowid" in s for s in statements) is read
