"""Checks of an agent's batch body at ingest (pure): every record, none of them kept.

An API node decodes each record of a request body to check it (schema, int64 bounds,
nesting, the agent's own host, sequence coverage) and lets it go at once: what it hands on
is the body as it came (`CheckedBody`), which the bus carries and a worker decodes without
checking again. Keeping no record means no batch of thousands of objects lives on in the
node for the garbage collector to walk. Each refusal is an `IngestError` naming what and
where.
"""

from __future__ import annotations

from typing import Any

import msgspec
import zstandard

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.wire import BATCH_CONTENT_TYPE, BATCH_ENCODING
from stockade.platform.bus.codec import MAX_DECODED_BYTES, WireBatch
from stockade.platform.errors import PlatformError
from stockade.platform.messages import CheckedBody
from stockade.platform.services.agents import AgentIdentity
from stockade.platform.services.batch_limits import (
    BatchLimitError,
    array_length,
    check_alert,
    check_event,
    check_record_count,
    check_value,
    event_within_bounds,
)

MAX_BODY_BYTES = 32 * 1024 * 1024
_FEED_BYTES = 1024

_wire_decoder = msgspec.msgpack.Decoder(WireBatch)
_raws_decoder = msgspec.msgpack.Decoder(list[msgspec.Raw])
_alert_decoder = msgspec.msgpack.Decoder(Alert)
_event_decoder = msgspec.msgpack.Decoder(Event)
_seqs_decoder = msgspec.msgpack.Decoder(list[int])


class IngestError(PlatformError):
    """A batch is refused; `status` is the HTTP status and the message the reason."""

    def __init__(self, status: int, reason: str, acked_seq: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.acked_seq = acked_seq


def check_body(
    body: bytes, content_type: str, content_encoding: str, agent: AgentIdentity | None
) -> CheckedBody:
    """The body once every record passed; `agent`: the sender, whose host each record
    must name (None: not checked). IngestError names what is wrong."""
    _check_headers(body, content_type, content_encoding)
    try:
        wire = _decode_wire(_decompress(body))
        event_seqs, event_hosts = _check_events(_decode_list(wire.events, "events"))
        alert_seqs, alert_hosts = _check_alerts(_decode_list(wire.alerts, "alerts"))
        refused = _decode_record(_seqs_decoder, wire.refused, "refused")
        check_value(refused, "refused")
    except BatchLimitError as e:
        raise IngestError(e.status, str(e)) from e
    if agent is not None:
        _check_origin(wire.agent_id, agent, ("event", event_hosts), ("alert", alert_hosts))
    check_seqs(wire.first_seq, wire.last_seq, [*event_seqs, *alert_seqs, *refused])
    return CheckedBody(wire.agent_id, wire.first_seq, wire.last_seq, body)


def _check_headers(body: bytes, content_type: str, content_encoding: str) -> None:
    if content_type.split(";")[0].strip().lower() != BATCH_CONTENT_TYPE:
        raise IngestError(415, f"Content-Type must be {BATCH_CONTENT_TYPE}, got {content_type!r}")
    if content_encoding.strip().lower() != BATCH_ENCODING:
        raise IngestError(
            415, f"Content-Encoding must be {BATCH_ENCODING}, got {content_encoding!r}"
        )
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES} bytes")


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
    # an array header is at most 5 bytes: the lists are not copied to read it
    heads = {name: bytes(memoryview(r)[:5]) for name, r in lists.items()}
    check_record_count({name: array_length(head, name) for name, head in heads.items()})
    return wire


def _decode_list(raw: msgspec.Raw, where: str) -> list[msgspec.Raw]:
    try:
        return _raws_decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise IngestError(422, f"batch does not match the Batch schema: {where}: {e}") from e
    except (msgspec.DecodeError, RecursionError) as e:
        raise IngestError(400, f"{where} is not msgpack: {e}") from e


def _record_error(e: Exception, where: str) -> IngestError:
    if isinstance(e, msgspec.ValidationError):
        return IngestError(422, f"batch does not match the Batch schema: {where}: {e}")
    if isinstance(e, RecursionError):  # msgspec's own bound on nesting, far past ours
        return IngestError(422, f"{where} nests too deeply to decode")
    return IngestError(400, f"{where} is not msgpack: {e}")


def _decode_record(decoder: msgspec.msgpack.Decoder[Any], raw: msgspec.Raw, where: str) -> Any:
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError) as e:
        raise _record_error(e, where) from e


def _check_events(raws: list[msgspec.Raw]) -> tuple[list[int], dict[str, int]]:
    """Each event's seq, and each host named with the first seq naming it."""
    seqs: list[int] = []
    hosts: dict[str, int] = {}
    decode = _event_decoder.decode
    for i, raw in enumerate(raws):  # the hot loop: names and messages only on a refusal
        try:
            event: Event = decode(raw)
        except (msgspec.DecodeError, RecursionError) as e:
            raise _record_error(e, f"events[{i}]") from e
        if not event_within_bounds(event):
            check_event(event, f"events[{i}]")
        seqs.append(event.seq)
        hosts.setdefault(event.host_id, event.seq)
    return seqs, hosts


def _check_alerts(raws: list[msgspec.Raw]) -> tuple[list[int], dict[str, int]]:
    seqs: list[int] = []
    hosts: dict[str, int] = {}
    for i, raw in enumerate(raws):
        alert: Alert = _decode_record(_alert_decoder, raw, f"alerts[{i}]")
        check_alert(alert, f"alerts[{i}]")
        seqs.append(alert.seq)
        hosts.setdefault(alert.host_id, alert.seq)
    return seqs, hosts


def _check_origin(agent_id: str, agent: AgentIdentity, *named: tuple[str, dict[str, int]]) -> None:
    """Refuse a batch of another agent or with a record naming another host than the one
    the agent's certificate is bound to."""
    if agent_id != agent.agent_id:
        raise IngestError(
            403, f"batch agent_id {agent_id!r} differs from certificate CN {agent.agent_id!r}"
        )
    for kind, hosts in named:
        for host, seq in hosts.items():
            if host != agent.host_id:
                raise IngestError(
                    403,
                    f"{kind} seq {seq} names host {host!r}, but this agent is "
                    f"bound to host {agent.host_id!r}",
                )


def check_seqs(first: int, last: int, seqs: list[int]) -> None:
    """Refuse records whose seqs do not cover [first, last] exactly once."""
    if first < 1 or last < first:
        raise IngestError(422, f"invalid seq range [{first}, {last}] (need 1 <= first <= last)")
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
