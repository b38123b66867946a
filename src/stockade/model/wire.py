"""Messages between agent and platform (msgpack, zstd-compressed on the wire).

A `Batch` carries a contiguous run of the agent's spool sequence numbers
[first_seq, last_seq]; every event and alert in it has its `seq` in that range and
together they cover it exactly. The platform stores each (agent_id, seq) once and answers
with the highest sequence it holds (`Ack.acked_seq`), so retries and restarts never store
an event twice and a gap (first_seq > acked_seq + 1) is refused.
"""

from __future__ import annotations

import msgspec

from stockade.model.alerts import Alert
from stockade.model.entities import Host
from stockade.model.events import Event
from stockade.model.inventory import ScanResult

BATCH_CONTENT_TYPE = "application/vnd.stockade.batch+msgpack"
BATCH_ENCODING = "zstd"
# an image scan as the agent's scan subprocess prints it and the agent uploads it
SCAN_CONTENT_TYPE = "application/vnd.stockade.scan+msgpack"
_SCAN_ENCODER = msgspec.msgpack.Encoder()
_SCAN_DECODER = msgspec.msgpack.Decoder(ScanResult)


class Batch(msgspec.Struct, kw_only=True):
    """A run of spooled records sent in one request."""

    agent_id: str
    first_seq: int
    last_seq: int
    events: list[Event] = msgspec.field(default_factory=list)
    alerts: list[Alert] = msgspec.field(default_factory=list)
    # seqs of records the platform refused (4xx) that the agent gives up on: they count as
    # covered so the stream moves on, and the platform counts them on the agent's row
    refused: list[int] = msgspec.field(default_factory=list)


class Ack(msgspec.Struct, kw_only=True):
    """The platform's answer to a batch: everything up to acked_seq is durable.

    Durable means stored, or on the disk of the shared bus its workers store from.
    """

    acked_seq: int


class EnrollRequest(msgspec.Struct, kw_only=True):
    """An agent's one-time enrollment: the token and a PEM certificate signing request."""

    token: str
    csr_pem: str
    host: Host


class EnrollResponse(msgspec.Struct, kw_only=True):
    """The platform's answer: the agent's id, its signed certificate and the CA to trust."""

    agent_id: str
    cert_pem: str
    ca_pem: str


class RenewRequest(msgspec.Struct, kw_only=True):
    """An enrolled agent asks for a new certificate over its current mTLS channel."""

    csr_pem: str


class RenewResponse(msgspec.Struct, kw_only=True):
    """The renewed client certificate (same agent id, same key)."""

    cert_pem: str


class SensorStatus(msgspec.Struct, kw_only=True):
    """Counters of the agent's event source, sent with each heartbeat."""

    source: str  # id of the event source in use (ebpf, proc_connector, ...)
    degraded: str = ""  # why a fallback is in use; empty when fully capable
    events_by_type: dict[str, int] = msgspec.field(default_factory=dict)
    dropped: int = 0
    decode_errors: int = 0
    spool_dropped: int = 0  # records lost because the agent's spool was at its cap


class Heartbeat(msgspec.Struct, kw_only=True):
    """The agent's periodic status report."""

    agent_id: str
    host: Host
    version: str
    sensor: SensorStatus
    spooled_seq: int = 0  # highest sequence written to the local spool


def encode_scan(result: ScanResult) -> bytes:
    """An image scan in the agent's upload format (msgpack of the ScanResult)."""
    return _SCAN_ENCODER.encode(result)


def decode_scan(data: bytes) -> ScanResult:
    """The ScanResult of an upload; msgspec.DecodeError (or ValidationError) if it is not one."""
    return _SCAN_DECODER.decode(data)
