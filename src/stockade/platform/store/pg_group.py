"""Storing a group of batches (several agents') in PostgreSQL in one transaction.

Group commit: a worker hands the store the batches of several agents that are ready at
once; their agents' rows are locked in one statement (in id order, so two workers' groups
never wait on each other in a cycle), every new event of the group goes in one COPY and
every new alert in another, and one commit makes them all durable. Exactly once: under
its agent's lock each batch stores only what is past the agent's acked seq (a single
batch is a group of one). A batch that cannot be stored (unknown agent, a gap before
it) is left out with its error and the others go on; at most one batch per agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.platform.messages import IngestBatch
from stockade.platform.store.base import (
    BatchResult,
    SequenceGapError,
    StoreError,
    UnknownAgentError,
)
from stockade.platform.store.pg_batches import BatchRows, copy_rows
from stockade.platform.store.pg_connection import PgConnection
from stockade.platform.store.sqlite_batches import finish_batch

GroupOutcome = BatchResult | StoreError  # per batch: what it stored, or why it was not


@dataclass(frozen=True, slots=True)
class Prepared:
    """One batch of a group with its rows built."""

    ingest: IngestBatch
    rows: BatchRows


def lock_agents(conn: PgConnection, agents: Sequence[str]) -> dict[str, int]:
    """Lock the agents' rows in id order; each enrolled one's acked seq."""
    rows = conn.execute(
        "SELECT id, acked_seq FROM agents WHERE id = ANY(?) ORDER BY id FOR UPDATE",
        (sorted(agents),),
    ).fetchall()
    return {str(agent): int(acked) for agent, acked in rows}


def write_group(conn: PgConnection, group: Sequence[Prepared], now: int) -> list[GroupOutcome]:
    """Store what is new in each batch of the group inside the caller's transaction."""
    agents = [p.ingest.batch.agent_id for p in group]
    if len(set(agents)) != len(agents):
        raise StoreError("a group holds at most one batch per agent")
    acked_of = lock_agents(conn, agents)
    outcomes: list[GroupOutcome | int] = []  # an int: the acked seq to store past
    events: list[tuple[Any, ...]] = []
    alerts: list[tuple[Any, ...]] = []
    for prepared in group:
        batch = prepared.ingest.batch
        acked = acked_of.get(batch.agent_id)
        if acked is None:
            outcomes.append(UnknownAgentError(f"agent {batch.agent_id} is not enrolled"))
        elif batch.first_seq > acked + 1:
            outcomes.append(SequenceGapError(batch.first_seq, acked))
        else:
            outcomes.append(acked)
            events += [r for r in prepared.rows.events if r[1] > acked]
            alerts += [r for r in prepared.rows.alerts if r[1] > acked]
    copy_rows(conn, BatchRows(events=events, alerts=alerts))
    return [
        _finish(conn, prepared.ingest, outcome, now) if isinstance(outcome, int) else outcome
        for prepared, outcome in zip(group, outcomes, strict=True)
    ]


def _finish(conn: PgConnection, ingest: IngestBatch, acked: int, now: int) -> BatchResult:
    batch = ingest.batch
    new_events: list[Event] = [e for e in batch.events if e.seq > acked]
    new_alerts: list[Alert] = [a for a in batch.alerts if a.seq > acked]
    return finish_batch(conn, batch, acked, (new_events, new_alerts), now)
