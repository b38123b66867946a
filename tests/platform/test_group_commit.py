"""Group commit on a real PostgreSQL store: batches handed in at once are written in a few
groups, each caller gets its own batch's outcome, and a group that fails as a whole is
stored batch by batch so that one bad batch keeps no other out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import msgspec
import pytest

from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.services.group_commit import GroupCommit
from stockade.platform.store import SequenceGapError, StoreError
from stockade.platform.store.base import BatchResult
from stockade.platform.store.postgres import PostgresStore
from stockade.platform.store.runner import StoreRunner
from tests.support.agent_client import make_event
from tests.support.postgres import store_with_agents

pytestmark = pytest.mark.server
AGENTS = [f"a{n}" for n in range(12)]


class Recorded:
    """The real store, remembering the size of each group it was handed."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.groups: list[int] = []

    def store_batches(
        self, batches: Sequence[IngestBatch], now: int
    ) -> list[BatchResult | StoreError]:
        self.groups.append(len(batches))
        return self.store.store_batches(batches, now)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    s = store_with_agents(postgres_url, dict.fromkeys(AGENTS, "host-1"))
    yield s
    s.close()


def _ingest(agent: str, first: int, last: int, pid: int = 7) -> IngestBatch:
    events = [make_event(s, 10**18 + s, pid=pid) for s in range(first, last + 1)]
    batch = Batch(agent_id=agent, first_seq=first, last_seq=last, events=events)
    return IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events])


async def _store_all(groups: GroupCommit, batches: list[IngestBatch]) -> list[object]:
    return await asyncio.gather(*(groups.store(b) for b in batches), return_exceptions=True)


def test_batches_handed_in_at_once_go_in_a_few_groups(store: PostgresStore) -> None:
    recorded = Recorded(store)
    runner = StoreRunner(batch_writers=2)
    try:
        groups = GroupCommit(recorded, runner, flushes=2, group_records=1000)
        batches = [_ingest(agent, 1, 20) for agent in AGENTS] + [_ingest("a0", 30, 31)]
        outcomes = asyncio.run(_store_all(groups, batches))
    finally:
        runner.close()
    assert outcomes[:-1] == [BatchResult(20, 20, 0)] * len(AGENTS)
    assert isinstance(outcomes[-1], SequenceGapError)  # its own outcome, not the group's
    assert sum(recorded.groups) == len(batches)
    assert len(recorded.groups) < len(batches) and max(recorded.groups) > 2
    stored = store.connection().execute(
        "SELECT count(*), count(DISTINCT (agent_id, seq)) FROM events"
    )
    assert stored.fetchone() == (20 * len(AGENTS), 20 * len(AGENTS))


def test_a_full_batch_is_a_group_of_its_own(store: PostgresStore) -> None:
    recorded = Recorded(store)
    runner = StoreRunner(batch_writers=1)
    try:
        groups = GroupCommit(recorded, runner, flushes=1, group_records=10)
        asyncio.run(_store_all(groups, [_ingest(agent, 1, 10) for agent in AGENTS[:4]]))
    finally:
        runner.close()
    assert recorded.groups == [1, 1, 1, 1]


def test_a_group_failing_as_a_whole_is_stored_batch_by_batch(store: PostgresStore) -> None:
    recorded = Recorded(store)
    runner = StoreRunner(batch_writers=1)
    try:
        groups = GroupCommit(recorded, runner, flushes=1, group_records=1000)
        bad = _ingest("a3", 1, 5, pid=2**63)  # past PostgreSQL's bigint: the COPY fails
        batches = [_ingest(agent, 1, 5) for agent in AGENTS[:3]] + [bad, _ingest("a4", 1, 5)]
        outcomes = asyncio.run(_store_all(groups, batches))
    finally:
        runner.close()
    assert [type(o).__name__ for o in outcomes].count("BatchResult") == 4
    assert isinstance(outcomes[3], Exception)
    assert max(recorded.groups) > 1 and recorded.groups.count(1) >= len(batches)
    acked = dict(store.connection().execute("SELECT id, acked_seq FROM agents").fetchall())
    assert [acked[a] for a in AGENTS[:5]] == [5, 5, 5, 0, 5]
