"""Group commit on a real PostgreSQL: several agents' batches in one transaction, each
batch's own outcome, and a group stored again (redelivered) storing nothing twice."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch
from stockade.platform.store import SequenceGapError, UnknownAgentError
from stockade.platform.store.base import BatchResult
from stockade.platform.store.postgres import PostgresStore
from tests.support.agent_client import make_alert, make_event
from tests.support.postgres import store_with_agents

pytestmark = pytest.mark.server
AGENTS = ("a1", "a2", "a3")


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    s = store_with_agents(postgres_url, {agent: f"h-{agent}" for agent in AGENTS})
    yield s
    s.close()


def _ingest(agent: str, first: int, last: int) -> IngestBatch:
    """Events first..last-1 of `agent`'s host and an alert (seq `last`) on the last."""
    events = [make_event(s, 10**18 + s, host_id=f"h-{agent}") for s in range(first, last)]
    batch = Batch(
        agent_id=agent,
        first_seq=first,
        last_seq=last,
        events=events,
        alerts=[make_alert(last, events[-1])],
    )
    return IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events])


def test_a_group_is_one_transaction_and_each_batch_gets_its_own_outcome(
    store: PostgresStore,
) -> None:
    group = [_ingest("a1", 1, 10), _ingest("a2", 1, 5), _ingest("ghost", 1, 3), _ingest("a3", 7, 9)]
    outcomes = store.store_batches(group, 1)
    assert outcomes[:2] == [BatchResult(10, 9, 1), BatchResult(5, 4, 1)]
    assert isinstance(outcomes[2], UnknownAgentError)
    assert isinstance(outcomes[3], SequenceGapError) and outcomes[3].acked_seq == 0
    conn = store.connection()
    # one COPY and one commit for both batches: their rows share one transaction id
    writers = conn.execute("SELECT count(DISTINCT CAST(xmin AS TEXT)) FROM events").fetchone()
    assert writers[0] == 1
    acked = dict(conn.execute("SELECT id, acked_seq FROM agents").fetchall())
    assert acked == {"a1": 10, "a2": 5, "a3": 0}


def test_a_group_stored_again_stores_only_what_is_new(store: PostgresStore) -> None:
    """A worker killed between the commit and its acks: the group comes back, maybe
    grown, and only the records past each agent's acked seq are stored."""
    store.store_batches([_ingest("a1", 1, 10), _ingest("a2", 1, 5)], 1)
    again = store.store_batches([_ingest("a1", 1, 10), _ingest("a2", 1, 8)], 2)
    assert again == [BatchResult(10, 0, 0), BatchResult(8, 2, 1)]
    rows = store.connection().execute(
        "SELECT agent_id, count(*), count(DISTINCT seq) FROM events GROUP BY agent_id "
        "ORDER BY agent_id"
    )
    assert rows.fetchall() == [("a1", 9, 9), ("a2", 6, 6)]


def test_one_batch_stores_as_a_group_of_one(store: PostgresStore) -> None:
    assert store.store_batch(_ingest("a1", 1, 4), 1) == BatchResult(4, 3, 1)
    with pytest.raises(SequenceGapError):
        store.store_batch(_ingest("a1", 9, 12), 1)
