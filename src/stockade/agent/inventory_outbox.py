"""Inventory differences waiting for the platform: kept on disk, sent in order.

Each difference is one file (`<seq>.json.zst`, the request body itself) written before it
is sent and removed once the platform stored it, so an outage or an agent restart loses
no step of a host's history (a user added and removed while the platform was down still
shows in it). Bounded: past `max_bytes` the waiting differences are dropped and the
caller sends the whole inventory instead, which the platform takes as a replacement.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import msgspec
import zstandard

from stockade.model.host_inventory import InventoryDiff

MAX_BYTES = 64 * 1024 * 1024
_decoder = msgspec.json.Decoder(InventoryDiff)


def encode_diff(diff_: InventoryDiff) -> bytes:
    """The request body: zstd of the difference's JSON."""
    return bytes(zstandard.ZstdCompressor(level=3).compress(msgspec.json.encode(diff_)))


class InventoryOutbox:
    """A directory of differences not yet stored by the platform, oldest first."""

    def __init__(self, directory: Path, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*.json.zst"))

    def __len__(self) -> int:
        return len(self._files())

    def waiting_bytes(self) -> int:
        """The size of what waits."""
        return sum(p.stat().st_size for p in self._files())

    def put(self, diff: InventoryDiff) -> bool:
        """Keep a difference to send; False (nothing kept) when the outbox is full."""
        body = encode_diff(diff)
        if self.waiting_bytes() + len(body) > self.max_bytes and len(self):
            return False
        files = self._files()
        seq = int(files[-1].name.split(".", 1)[0]) + 1 if files else 1
        tmp = self.directory / f"{seq:012d}.tmp"
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / f"{seq:012d}.json.zst")
        return True

    def drain(self, send: Callable[[InventoryDiff], None]) -> int:
        """Send what waits, oldest first; the sender's error stops it (the rest waits)."""
        sent = 0
        for path in self._files():
            try:
                diff = _decoder.decode(zstandard.ZstdDecompressor().decompress(path.read_bytes()))
            except (msgspec.DecodeError, zstandard.ZstdError):  # damaged: never sendable
                path.unlink()
                continue
            send(diff)
            path.unlink()
            sent += 1
        return sent

    def clear(self) -> None:
        """Drop everything waiting (the whole inventory is sent instead)."""
        for path in self._files():
            path.unlink()
