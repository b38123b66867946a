"""Messages the platform passes between ingest, bus and store."""

from __future__ import annotations

import msgspec

from stockade.model.wire import Batch


class IngestBatch(msgspec.Struct, kw_only=True):
    """A decoded agent batch plus each event's msgpack bytes as received (stored as-is)."""

    batch: Batch
    event_blobs: list[bytes]
