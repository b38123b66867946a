"""Ingest of agent batches: decode and validate (pure), then publish and answer the ack."""

from __future__ import annotations

import gc
import time
from typing import Any

import msgspec
import zstandard

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.wire import BATCH_CONTENT_TYPE, BATCH_ENCODING, Ack, Batch
from stockade.platform.bus import BATCHES, Bus, BusError
from stockade.platform.bus.codec import MAX_DECODED_BYTES as MAX_DECODED_BYTES
from stockade.platform.bus.codec import WireBatch
from stockade.platform.errors import PlatformError
from stockade.platform.messages import IngestBatch
from stockade.platform.services.agents import AgentIdentity
from stockade.platform.services.batch_limits import (
    BatchLimitError,
    array_length,
    check_alert,
    check_event,
    check_record_count,
    check_value,
)
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.store import SequenceGapError, Store, StoreError, UnknownAgentError
from stockade.platform.store.runner import StoreRunner

MAX_BODY_BYTES = 32 * 1024 * 1024
_FEED_BYTES = 1024
_ALWAYS_ASK = 2**63  # past any seq: the bus asks its server rather than its own record


class IngestError(PlatformError):
    """A batch is refused; `status` is the HTTP status and the message the reason."""

    def __init__(self, status: int, reason: str, acked_seq: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.acked_seq = acked_seq


def _decompress(body: bytes) -> bytes:
    """One complete zstd frame, fed in small steps so a bomb stops near the limit."""
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    chunks: list[bytes] = []
    total = 0
    view = memoryview(body)
    fed = 0
    try:
        for start in range(0, len(body), _FEED_BYTES):
            fed = min(start + _FEED_BYTES, len(body))
            chunk = decompressor.decompress(view[start:fed])
            total += len(chunk)
            if total > MAX_DECODED_BYTES:
                raise IngestError(413, f"batch decompresses to more than {MAX_DECODED_BYTES} bytes")
            chunks.append(chunk)
            if decompressor.eof:
                break
    except zstandard.ZstdError as e:
        raise IngestError(400, f"body is not valid zstd data: {e}") from e
    if not decompressor.eof:
        raise IngestError(400, "body is not valid zstd data: the frame is truncated")
    if decompressor.unused_data or fed < len(body):
        raise IngestError(400, "body is not valid zstd data: bytes follow the zstd frame")
    return b"".join(chunks)


_wire_decoder = msgspec.msgpack.Decoder(WireBatch)
_raws_decoder = msgspec.msgpack.Decoder(list[msgspec.Raw])
_alert_decoder = msgspec.msgpack.Decoder(Alert)
_event_decoder = msgspec.msgpack.Decoder(Event)
_seqs_decoder = msgspec.msgpack.Decoder(list[int])


def _decode_list(raw: msgspec.Raw, where: str) -> list[msgspec.Raw]:
    try:
        return _raws_decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise IngestError(422, f"batch does not match the Batch schema: {where}: {e}") from e
    except (msgspec.DecodeError, RecursionError) as e:
        raise IngestError(400, f"{where} is not msgpack: {e}") from e


def _decode_record(decoder: msgspec.msgpack.Decoder[Any], raw: msgspec.Raw, where: str) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise IngestError(422, f"batch does not match the Batch schema: {where}: {e}") from e
    except msgspec.DecodeError as e:
        raise IngestError(400, f"{where} is not msgpack: {e}") from e
    except RecursionError as e:  # msgspec's own bound on nesting, far past ours
        raise IngestError(422, f"{where} nests too deeply to decode") from e


def _decode_events(raws: list[msgspec.Raw]) -> tuple[list[Event], list[bytes]]:
    events: list[Event] = []
    blobs: list[bytes] = []
    # Decoding thousands of structs triggers many pointless young-generation collections.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i, raw in enumerate(raws):
            event: Event = _decode_record(_event_decoder, raw, f"events[{i}]")
            check_event(event, f"events[{i}]")
            events.append(event)
            blobs.append(bytes(raw))
    finally:
        if gc_was_enabled:
            gc.enable()
    return events, blobs


def _decode_alerts(raws: list[msgspec.Raw]) -> list[Alert]:
    alerts: list[Alert] = []
    for i, raw in enumerate(raws):
        alert: Alert = _decode_record(_alert_decoder, raw, f"alerts[{i}]")
        check_alert(alert, f"alerts[{i}]")
        alerts.append(alert)
    return alerts


def _decode_wire(raw: bytes) -> WireBatch:
    try:
        wire = _wire_decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise IngestError(422, f"batch does not match the Batch schema: {e}") from e
    except msgspec.DecodeError as e:
        raise IngestError(400, f"decompressed body is not msgpack: {e}") from e
    except RecursionError as e:
        raise IngestError(422, "batch nests too deeply to decode") from e
    check_value(wire.first_seq, "first_seq")
    check_value(wire.last_seq, "last_seq")
    lists = {"events": wire.events, "alerts": wire.alerts, "refused": wire.refused}
    check_record_count({name: array_length(bytes(r), name) for name, r in lists.items()})
    return wire


def decode_batch(body: bytes, content_type: str, content_encoding: str) -> IngestBatch:
    """The typed batch in a request body; IngestError names what is wrong."""
    if content_type.split(";")[0].strip().lower() != BATCH_CONTENT_TYPE:
        raise IngestError(415, f"Content-Type must be {BATCH_CONTENT_TYPE}, got {content_type!r}")
    if content_encoding.strip().lower() != BATCH_ENCODING:
        raise IngestError(
            415, f"Content-Encoding must be {BATCH_ENCODING}, got {content_encoding!r}"
        )
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES} bytes")
    try:
        wire = _decode_wire(_decompress(body))
        events, blobs = _decode_events(_decode_list(wire.events, "events"))
        alerts = _decode_alerts(_decode_list(wire.alerts, "alerts"))
        refused = _decode_record(_seqs_decoder, wire.refused, "refused")
        check_value(refused, "refused")
    except BatchLimitError as e:
        raise IngestError(e.status, str(e)) from e
    batch = Batch(
        agent_id=wire.agent_id,
        first_seq=wire.first_seq,
        last_seq=wire.last_seq,
        events=events,
        alerts=alerts,
        refused=refused,
    )
    return IngestBatch(batch=batch, event_blobs=blobs, body=body)


def check_sequences(batch: Batch) -> None:
    """Refuse a batch whose records do not cover [first_seq, last_seq] exactly once."""
    first, last = batch.first_seq, batch.last_seq
    if first < 1 or last < first:
        raise IngestError(422, f"invalid seq range [{first}, {last}] (need 1 <= first <= last)")
    seqs = [e.seq for e in batch.events]
    seqs += [a.seq for a in batch.alerts]
    seqs += batch.refused
    expected = last - first + 1
    if len(seqs) != expected:
        raise IngestError(
            422, f"batch holds {len(seqs)} records for seq range [{first}, {last}] of {expected}"
        )
    low, high = min(seqs), max(seqs)
    if low < first or high > last:
        bad = low if low < first else high
        raise IngestError(422, f"record seq {bad} lies outside [{first}, {last}]")
    if len(set(seqs)) != expected:
        raise IngestError(422, f"duplicate seq in batch [{first}, {last}]")


def check_origin(batch: Batch, agent: AgentIdentity) -> None:
    """Refuse a batch of another agent or with a record naming another host than the one
    the agent's certificate is bound to."""
    if batch.agent_id != agent.agent_id:
        raise IngestError(
            403,
            f"batch agent_id {batch.agent_id!r} differs from certificate CN {agent.agent_id!r}",
        )
    for kind, records in (("event", batch.events), ("alert", batch.alerts)):
        for record in records:
            if record.host_id != agent.host_id:
                raise IngestError(
                    403,
                    f"{kind} seq {record.seq} names host {record.host_id!r}, but this agent is "
                    f"bound to host {agent.host_id!r}",
                )


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
        ingest = decode_batch(body, content_type, content_encoding)
        batch = ingest.batch
        check_origin(batch, agent)
        check_sequences(batch)
        acked = await self._acked(agent.agent_id, batch.first_seq)
        if batch.first_seq > acked + 1:
            raise IngestError(409, str(SequenceGapError(batch.first_seq, acked)), acked)
        if batch.last_seq > acked:
            try:
                await self._bus.publish(BATCHES, ingest)
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

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject."""
        bus.subscribe(BATCHES, self.handle)

    async def handle(self, batch: IngestBatch) -> None:
        """Store one batch in one transaction."""
        result = await self._runner.write(self._store.store_batch, batch, time.time_ns())
        self._metrics.events_stored.inc(result.events_stored)
        self._metrics.alerts_stored.inc(result.alerts_stored)
