"""Ingest of agent batches: check every record (pure), publish the body, answer the ack."""

from __future__ import annotations

import time

from stockade.model.wire import Ack, Batch
from stockade.platform.bus import BATCHES, Bus, BusError
from stockade.platform.bus.codec import decode_body
from stockade.platform.messages import IngestBatch
from stockade.platform.services.agents import AgentIdentity
from stockade.platform.services.group_commit import GroupCommit, GroupStore
from stockade.platform.services.ingest_checks import MAX_BODY_BYTES as MAX_BODY_BYTES
from stockade.platform.services.ingest_checks import IngestError as IngestError
from stockade.platform.services.ingest_checks import check_body, check_seqs
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.store import SequenceGapError, Store, StoreError, UnknownAgentError
from stockade.platform.store.runner import StoreRunner

_ALWAYS_ASK = 2**63  # past any seq: the bus asks its server rather than its own record


def decode_batch(body: bytes, content_type: str, content_encoding: str) -> IngestBatch:
    """The typed batch in a request body once every record passed its checks (no origin
    check: no sender); IngestError names what is wrong."""
    return decode_body(check_body(body, content_type, content_encoding, None).body)


def check_sequences(batch: Batch) -> None:
    """Refuse a batch whose records do not cover [first_seq, last_seq] exactly once."""
    seqs = [e.seq for e in batch.events] + [a.seq for a in batch.alerts] + batch.refused
    check_seqs(batch.first_seq, batch.last_seq, seqs)


class IngestService:
    """Validates a batch from an authenticated agent, publishes it, answers the ack."""

    def __init__(
        self, store: Store, runner: StoreRunner, bus: Bus, metrics: PlatformMetrics
    ) -> None:
        self._store = store
        self._runner = runner
        self._bus = bus
        self._metrics = metrics

    async def ingest(
        self, agent: AgentIdentity, body: bytes, content_type: str, content_encoding: str
    ) -> Ack:
        """Store a batch exactly once; IngestError (with status) when refused."""
        try:
            ack = await self._ingest(agent, body, content_type, content_encoding)
        except UnknownAgentError as e:  # deleted while its request was under way
            self._metrics.batches.labels(result="403").inc()
            raise IngestError(403, str(e)) from e
        except (BusError, StoreError) as e:
            self._metrics.batches.labels(result="503").inc()
            raise IngestError(503, f"cannot store the batch now, retry later: {e}") from e
        except IngestError as e:
            self._metrics.batches.labels(result=str(e.status)).inc()
            raise
        self._metrics.batches.labels(result="200").inc()
        return ack

    async def _ingest(
        self, agent: AgentIdentity, body: bytes, content_type: str, content_encoding: str
    ) -> Ack:
        batch = check_body(body, content_type, content_encoding, agent)
        acked = await self._acked(agent.agent_id, batch.first_seq)
        if batch.first_seq > acked + 1:
            raise IngestError(409, str(SequenceGapError(batch.first_seq, acked)), acked)
        if batch.last_seq > acked:
            try:
                await self._bus.publish(BATCHES, batch)
            except SequenceGapError as e:
                raise IngestError(409, str(e), e.acked_seq) from e
            # publish returned, so everything up to last_seq is durable (a concurrent batch may
            # have stored more; the agent learns that with its next ack)
            acked = batch.last_seq
        return Ack(acked_seq=acked)

    async def _acked(self, agent_id: str, first_seq: int) -> int:
        """What is durable of the agent: held by the bus (a shared bus holds batches its
        workers have not stored yet) or stored. The store is read only when the bus's own
        record does not reach the batch, so a steady stream of batches costs no read."""
        held = await self._bus.held_seq(agent_id, first_seq - 1)
        if held and first_seq <= held + 1:
            return held
        stored = await self._runner.read_for_agent(self._store.acked_seq, agent_id)
        return max(held, stored)

    async def ack(self, agent_id: str) -> Ack:
        """The agent's current ack; IngestError 403 when it is not enrolled (any more)."""
        try:
            stored = await self._runner.read_for_agent(self._store.acked_seq, agent_id)
            held = await self._bus.held_seq(agent_id, _ALWAYS_ASK)
        except UnknownAgentError as e:
            raise IngestError(403, str(e)) from e
        except (BusError, StoreError) as e:
            raise IngestError(503, f"cannot read the agent's ack now, retry later: {e}") from e
        return Ack(acked_seq=max(stored, held))


class StoreWorker:
    """Consumes published batches and writes them to the store."""

    def __init__(self, store: Store, runner: StoreRunner, metrics: PlatformMetrics) -> None:
        self._store = store
        self._runner = runner
        self._metrics = metrics
        # a store that takes groups gets batches handled at the same time in one transaction
        self._groups = GroupCommit(store, runner) if isinstance(store, GroupStore) else None

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject."""
        bus.subscribe(BATCHES, self.handle)

    async def handle(self, batch: IngestBatch) -> None:
        """Store one batch (in one transaction, or in a group's)."""
        if self._groups is not None:
            result = await self._groups.store(batch)
        else:
            result = await self._runner.write_batch(self._store.store_batch, batch, time.time_ns())
        self._metrics.events_stored.inc(result.events_stored)
        self._metrics.alerts_stored.inc(result.alerts_stored)
