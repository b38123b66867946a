"""Spool record framing: length, CRC-32, sequence, kind, then the msgpack payload.

    u32 body length | u32 crc32(body) | body = u64 seq | u8 kind | msgpack(Event|Alert)

A record whose length runs past the end of the data or whose CRC does not match ends
the valid part of a segment (a torn tail after a crash).

Events leave the host without what the agent read from /proc for its own rules: the
environment (it holds secrets) and the exec-time snapshot, its own and its ancestors'.
Alerts keep whatever their rules printed of them.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec

from stockade.model import Alert, Ancestor, Event, Process

Record = Event | Alert

HEADER = struct.Struct("<II")
BODY_HEAD = struct.Struct("<QB")
KIND_EVENT = 0
KIND_ALERT = 1
MAX_RECORD_BYTES = 16 * 1024 * 1024

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[int, msgspec.msgpack.Decoder[Event] | msgspec.msgpack.Decoder[Alert]] = {
    KIND_EVENT: msgspec.msgpack.Decoder(Event),
    KIND_ALERT: msgspec.msgpack.Decoder(Alert),
}


# Each entry keeps its original alive, environment and /proc snapshot included (kilobytes
# a process): 65,536 entries held 200 MB after a burst of execs. A poll brings at most
# 1,024 records, and most events of a batch come from a few actors.
_MEMO_MAX = 1024
# id(object) -> (that object, its copy without local-only details); the context stage
# shares one Process and one ancestors tuple among the events of an actor
_procs: dict[int, tuple[Process, Process]] = {}
_chains: dict[int, tuple[tuple[Ancestor, ...], tuple[Ancestor, ...]]] = {}


def _memo(table: dict[int, tuple[Any, Any]], key: Any, strip: Any) -> Any:
    hit = table.get(id(key))
    if hit is not None and hit[0] is key:
        return hit[1]
    if len(table) >= _MEMO_MAX:
        table.clear()
    stripped = strip(key)
    table[id(key)] = (key, stripped)  # holding the key keeps its id unique
    return stripped


def _strip_proc(proc: Process) -> Process:
    if not proc.env and proc.snapshot is None:
        return proc
    return msgspec.structs.replace(proc, env=(), snapshot=None)


def _strip_chain(chain: tuple[Ancestor, ...]) -> tuple[Ancestor, ...]:
    if not any(a.env for a in chain):
        return chain
    return tuple(msgspec.structs.replace(a, env=()) if a.env else a for a in chain)


def for_wire(event: Event) -> Event:
    """`event` as it leaves the host: no environment, no /proc snapshot."""
    proc = _memo(_procs, event.proc, _strip_proc)
    chain = _memo(_chains, event.ancestors, _strip_chain)
    if proc is event.proc and chain is event.ancestors:
        return event
    return msgspec.structs.replace(event, proc=proc, ancestors=chain)


def encode(record: Record) -> bytes:
    """One framed record; `record.seq` must already be set."""
    kind = KIND_ALERT if isinstance(record, Alert) else KIND_EVENT
    payload = record if isinstance(record, Alert) else for_wire(record)
    body = BODY_HEAD.pack(record.seq, kind) + _encoder.encode(payload)
    return HEADER.pack(len(body), zlib.crc32(body)) + body


def scan(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(offset, end, seq, kind) of each valid record, stopping at the first invalid one."""
    offset = 0
    while offset + HEADER.size + BODY_HEAD.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        end = start + length
        if length < BODY_HEAD.size or length > MAX_RECORD_BYTES or end > len(data):
            return
        if zlib.crc32(memoryview(data)[start:end]) != crc:
            return
        seq, kind = BODY_HEAD.unpack_from(data, start)
        yield offset, end, seq, kind
        offset = end


class RawRecord(NamedTuple):
    """A record as stored: its sequence, its kind and its msgpack payload."""

    seq: int
    kind: int
    payload: bytes


def raw(data: bytes, offset: int, end: int, seq: int, kind: int) -> RawRecord:
    """The record framed at data[offset:end] (as found by `scan`), not decoded."""
    return RawRecord(seq, kind, data[offset + HEADER.size + BODY_HEAD.size : end])


def decode(record: RawRecord) -> Record:
    """The Event or Alert of a stored record."""
    decoder = _decoders.get(record.kind)
    if decoder is None:
        raise ValueError(f"unknown spool record kind {record.kind} at seq {record.seq}")
    return decoder.decode(record.payload)
