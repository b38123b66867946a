"""SQL of the alert console's pages: filters, sort orders and keyset paging on SQLite.

A page is never read by OFFSET: it starts after the previous page's last key (sort value,
time, id), so page 1,000 costs what page 1 costs. Each sort column has an index
(column, ts DESC, id DESC); a page after a key is two index searches, the rest of the key's
group and the groups after it, each ordered and limited, merged.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import msgspec

from stockade.model.alerts import Alert
from stockade.platform.store.alert_console import (
    AlertFilter,
    AlertKey,
    AlertPage,
    AlertPageQuery,
    AlertSort,
    AlertStatus,
    AlertTriage,
    ConsoleAlert,
)
from stockade.platform.store.base import ContainerRecord, QueryTimeout, StoredAlert
from stockade.platform.store.dialect import alert_text_vector, text_query
from stockade.platform.store.sql import Connection, is_sqlite
from stockade.platform.store.sqlite_alert_words import (
    WordPlan,
    match_term,
    text_match,
    walk_steps,
    word_plan,
)
from stockade.platform.store.sqlite_budget import within
from stockade.platform.store.sqlite_queries import container_ids, host_terms

SORT_COLUMNS: dict[AlertSort, str] = {
    AlertSort.TIME: "a.ts",
    AlertSort.PRIORITY: "a.priority_num",
    AlertSort.RULE: "a.rule",
    AlertSort.HOST: "a.hostname",
    AlertSort.CONTAINER: "a.container_name",
}
_CONTAINER = "c.id, c.name, c.image, c.image_digest, c.runtime, c.first_seen, c.last_seen, "
_CONTAINER += "c.host_id, c.agent_id"
_SOURCE = "alerts a LEFT JOIN containers c ON c.id = a.container_id AND c.agent_id = a.agent_id"
FEW_ROWS = 5_000  # filters matching fewer: read and sort their rows, with no walk first
WALK_S = 0.15  # how long a page walks its sort column's index before reading the filters'''
_decoder = msgspec.json.Decoder(Alert)


class Conditions:
    """SQL conditions of a filter with their parameters, and a host filter's alternatives."""

    def __init__(
        self, conn: Connection, f: AlertFilter, walk: bool = False, words: WordPlan | None = None
    ) -> None:
        # walk: keep every filter off its index (`+column`), so that SQLite walks the sort
        # column's index and tests each row, rather than sorting all the filter's rows;
        # words: how the text and tags are matched (None: by how many alerts they match)
        self.plus = "+" if walk else ""
        self.terms: list[str] = []
        self.params: list[Any] = []
        self.alternatives: list[tuple[str, str]] = []  # (column, value): any one must match
        if f.host is not None:
            self.alternatives = host_terms(conn, "alerts", f.host)
        self._add_simple(f)
        if f.container is not None:
            self._add_in(f"{self.plus}a.container_id", container_ids(conn, f.container))
        if f.image is not None:
            self._add_image(conn, f.image)
        if not is_sqlite(conn):
            if query := text_query(f.text or ""):
                self.add(f"{alert_text_vector('a.')} @@ to_tsquery('simple', ?)", query)
        elif match := text_match(f.text or "", f.tags):  # the tags' words: a first cut
            self.add(match_term(words or word_plan(conn, match).plan, walk), match)
        for tag in f.tags:  # exact: the words of `a-b` also match the tag `a_b`
            self.add("instr(a.tags, ?) > 0", f",{tag},")

    def add(self, term: str, *params: Any) -> None:
        """Add one condition and its parameters."""
        self.terms.append(term)
        self.params.extend(params)

    def _add_simple(self, f: AlertFilter) -> None:
        plus = self.plus
        for term, value in (
            ("a.ts >= ?", f.since),
            ("a.ts <= ?", f.until),
            (f"{plus}a.agent_id = ?", f.agent),
            (f"{plus}a.rule = ?", f.rule),
            (f"{plus}lower(a.priority) = lower(?)", f.priority),
            (f"{plus}a.priority_num <= ?", f.min_priority),
            (f"{plus}a.status = ?", None if f.status is None else str(f.status)),
        ):
            if value is not None:
                self.add(term, value)

    def _add_in(self, column: str, values: list[str]) -> None:
        self.add(f"{column} IN ({','.join('?' * len(values))})", *values)

    def _add_image(self, conn: Connection, image: str) -> None:
        if not image.startswith("sha256:"):
            self.add(f"{self.plus}a.image = ?", image)
            return
        rows = conn.execute("SELECT DISTINCT id FROM containers WHERE image_digest = ?", (image,))
        self._add_in(f"{self.plus}a.container_id", [str(r[0]) for r in rows] or [""])


def _order(sort: AlertSort, reverse: bool) -> list[tuple[str, bool]]:
    """(column, descending) of each ordering term, the sort column first."""
    order = [("a.ts", True), ("a.id", True)]
    if sort is not AlertSort.TIME:
        order.insert(0, (SORT_COLUMNS[sort], False))
    return [(column, desc != reverse) for column, desc in order]


def _order_sql(order: list[tuple[str, bool]], alias: bool = False) -> str:
    names = {"a.ts": "_ts", "a.id": "_id"}
    return ", ".join(
        f"{names.get(c, '_k') if alias else c} {'DESC' if desc else 'ASC'}" for c, desc in order
    )


def _after(order: list[tuple[str, bool]], key: AlertKey | None) -> list[tuple[str, list[Any]]]:
    """Conditions of the parts a page after `key` is read from (one part without a key)."""
    if key is None:
        return [("", [])]
    ts_op = "<" if order[-1][1] else ">"
    rest = (f"(a.ts, a.id) {ts_op} (?, ?)", [key.ts, key.id])
    if len(order) == 2:  # by time: the time and id are the whole key
        return [rest]
    column, desc = order[0]
    return [
        (f"{column} = ? AND {rest[0]}", [key.value, *rest[1]]),
        (f"{column} {'<' if desc else '>'} ?", [key.value]),
    ]


SELECT_COLUMNS = (  # what a ConsoleAlert is read from
    "a.id, a.agent_id, a.body, a.proc_name, a.proc_pid, a.proc_cmdline, "
    f"{_CONTAINER}, a.status, a.status_by, a.status_at, a.incident_id"
)


def console_alert(row: tuple[Any, ...]) -> ConsoleAlert:
    """A ConsoleAlert from a row of SELECT_COLUMNS."""
    stored = StoredAlert(
        agent_id=row[1],
        alert=_decoder.decode(row[2]),
        proc_name=row[3],
        proc_pid=row[4],
        proc_cmdline=row[5],
        container=ContainerRecord(*row[6:15]) if row[6] is not None else None,
        incident_id=row[18],
    )
    triage = AlertTriage(
        id=row[0], status=AlertStatus(row[15]), status_by=row[16], status_at=row[17]
    )
    return ConsoleAlert(stored=stored, triage=triage, raw=row[2])


def page_alerts(conn: Connection, q: AlertPageQuery) -> AlertPage:
    """One page of alerts in the query's order, and the key of its last alert.

    Ordered by a column other than time, with filters: first the sort column's index is
    walked for a moment (quick when the filters match many alerts), then, if the page is not
    full by then, the filters' indexes are read and their rows sorted (quick when they match
    few). SQLite, without statistics, cannot tell which; QueryTimeout past the budget.
    Words and tags are counted instead (capped), which tells (`sqlite_alert_words`).
    """
    f = q.filter
    words = None
    if is_sqlite(conn) and (match := text_match(f.text or "", f.tags)):
        words = within(conn, q.budget_s, partial(word_plan, conn, match))
    plan = words.plan if words else None
    tries: list[tuple[bool, WordPlan | None, int]] = []  # walk, plan, VM steps (0: any)
    indexed = AlertFilter(since=f.since, until=f.until, tags=f.tags, text=f.text)
    if f != indexed and (q.sort is not AlertSort.TIME or f.min_priority is not None):
        if not _few_rows(conn, q):
            tries.append((True, plan, 0))
    elif plan is WordPlan.TESTED:  # a common word may be rare early in this order
        tries.append((False, plan, 0))
    elif words and plan is WordPlan.LISTED and walk_steps(words):
        tries.append((False, plan, walk_steps(words)))  # the matches may come late in it
        plan = WordPlan.READ
    if plan is WordPlan.TESTED:  # not quick within the walk's budget: list the matches
        plan = WordPlan.LISTED
    for walk, tried, steps in tries:
        try:
            run = partial(read_page, conn, q, walk, tried)
            return within(conn, min(WALK_S, q.budget_s), run, steps)
        except QueryTimeout:
            pass
    return within(conn, q.budget_s, partial(read_page, conn, q, False, plan))


def _few_rows(conn: Connection, q: AlertPageQuery) -> bool:
    """Whether the filters match fewer than FEW_ROWS alerts: then reading and sorting them
    is quick, where a walk would pass many rows for each it keeps. Counted on the filters'
    indexes up to FEW_ROWS, within the walk's budget (False past it); words and tags left
    out (counted apart), so the count is at most what the page's filter matches."""
    where = Conditions(conn, replace(q.filter, text=None, tags=()))

    def count() -> int:
        total = 0
        for alternative, alt_params in _alternatives(where):
            terms = [t for t in (*where.terms, alternative) if t]
            clause = f"WHERE {' AND '.join(terms)}" if terms else ""
            total += conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM alerts a {clause} LIMIT ?)",
                [*where.params, *alt_params, FEW_ROWS],
            ).fetchone()[0]
        return total

    try:
        return within(conn, min(WALK_S, q.budget_s), count) < FEW_ROWS
    except QueryTimeout:
        return False


def _alternatives(where: Conditions) -> list[tuple[str, list[Any]]]:
    """The host filter's alternatives as conditions (one empty one without a host filter)."""
    return [(f"{where.plus}a.{column} = ?", [value]) for column, value in where.alternatives] or [
        ("", [])
    ]


def read_page(
    conn: Connection, q: AlertPageQuery, walk: bool, words: WordPlan | None = None
) -> AlertPage:
    """One page, walking the sort column's index (`walk`) or reading the filters' indexes;
    words: how its text and tags are matched (None: counted here)."""
    where = Conditions(conn, q.filter, walk, words)
    source = "alerts a"
    if not walk and q.sort is AlertSort.TIME and q.filter.min_priority is not None:
        # the few severe alerts: read by priority and sorted (SQLite would walk the time)
        source = "alerts a INDEXED BY alerts_priority_num_ts"
    order = _order(q.sort, q.reverse)
    # the keys first (what a sort holds stays small), then the page's rows by id
    columns = f"{order[0][0]} AS _k, a.ts AS _ts, a.id AS _id"
    parts: list[str] = []
    params: list[Any] = []
    for after, after_params in _after(order, q.after):
        for alternative, alt_params in _alternatives(where):
            terms = [t for t in (*where.terms, after, alternative) if t]
            clause = f"WHERE {' AND '.join(terms)}" if terms else ""
            parts.append(
                f"SELECT {columns} FROM {source} {clause} ORDER BY {_order_sql(order)} LIMIT ?"
            )
            params += [*where.params, *after_params, *alt_params, q.limit + 1]
    if len(parts) == 1:
        sql = parts[0]
    else:
        union = " UNION ".join(f"SELECT * FROM ({p})" for p in parts)
        sql = f"SELECT * FROM ({union}) ORDER BY {_order_sql(order, alias=True)} LIMIT ?"
        params.append(q.limit + 1)
    keys = conn.execute(sql, params).fetchall()
    ids = [int(k[2]) for k in keys[: q.limit]]
    found = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM {_SOURCE} WHERE a.id IN ({','.join('?' * len(ids))})",
        ids,
    )
    by_id = {int(r[0]): r for r in found}
    alerts = [console_alert(by_id[i]) for i in ids if i in by_id]
    last = keys[q.limit - 1] if len(keys) > q.limit else None
    next_key = AlertKey(value=last[0], ts=last[1], id=last[2]) if last else None
    return AlertPage(alerts=alerts, next=next_key)
