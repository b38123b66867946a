"""The agent's append-only on-disk spool: events and alerts survive crashes and outages.

Records go into segment files named after their first sequence number; one sequence is
shared by events and alerts. A write is one `os.write` (a killed agent loses nothing it
wrote), `fsync` runs every `fsync_every` records or `fsync_interval_s` (a power cut loses
at most that window). On open, the newest segment is scanned and a torn tail is cut.
The acked cursor (what the platform stored) is persisted; fully acked segments are
deleted. Past `max_bytes` (events already at 95 %: the rest is kept for alerts), or when
the disk is full, `append` raises `SpoolFull` and nothing already accepted is touched.
"""

from __future__ import annotations

import bisect
import errno
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from stockade.agent import records
from stockade.agent.errors import SpoolError, SpoolFull
from stockade.agent.records import RawRecord, Record
from stockade.model import Alert

SEGMENT_SUFFIX = ".seg"


class Spool:
    """Append, read from any sequence, ack, and trim; safe to share between threads."""

    def __init__(
        self,
        directory: Path,
        segment_bytes: int = 8 * 1024 * 1024,
        max_bytes: int = 1024 * 1024 * 1024,
        fsync_every: int = 512,
        fsync_interval_s: float = 0.05,
    ) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._max_bytes = max_bytes
        self._fsync_every = fsync_every
        self._fsync_interval_s = fsync_interval_s
        self._lock = threading.Lock()
        self._firsts: list[int] = []  # first seq of each segment, ascending
        self._sizes: dict[int, int] = {}
        self._fd = -1
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self._cursor: tuple[int, int, int] | None = None  # (next seq, segment, offset)
        self.rejected = 0  # records refused because the spool was full
        self.truncated_bytes = 0  # torn tail cut when opening
        directory.mkdir(parents=True, exist_ok=True)
        self.acked_seq = self._read_acked()
        self._next_seq = self._recover()

    # -- state ------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The highest sequence written (0 before the first record)."""
        return self._next_seq - 1

    @property
    def size_bytes(self) -> int:
        """Bytes on disk in all segments."""
        return sum(self._sizes.values())

    def _segment_path(self, first: int) -> Path:
        return self.directory / f"{first:020d}{SEGMENT_SUFFIX}"

    def _read_acked(self) -> int:
        try:
            return int((self.directory / "acked").read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError as e:
            raise SpoolError(f"{self.directory / 'acked'}: not a number ({e})") from e

    def _recover(self) -> int:
        for path in self.directory.glob(f"*{SEGMENT_SUFFIX}"):
            first = int(path.name.removesuffix(SEGMENT_SUFFIX))
            self._firsts.append(first)
            self._sizes[first] = path.stat().st_size
        self._firsts.sort()
        if not self._firsts:
            self._open_segment(self.acked_seq + 1)
            return self.acked_seq + 1
        last = self._firsts[-1]
        path = self._segment_path(last)
        data = path.read_bytes()
        next_seq, valid_end = last, 0
        for _, end, seq, _ in records.scan(data):
            next_seq, valid_end = seq + 1, end
        if valid_end < len(data):
            self.truncated_bytes = len(data) - valid_end
            os.truncate(path, valid_end)
            self._sizes[last] = valid_end
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        return max(next_seq, self.acked_seq + 1)

    def _open_segment(self, first: int) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
        path = self._segment_path(first)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the name carries the sequence across restarts
        finally:
            os.close(dir_fd)
        self._firsts.append(first)
        self._sizes[first] = 0

    # -- writing ----------------------------------------------------------------------

    def append(self, items: Sequence[Record]) -> int:
        """Give each record the next sequence number and write them; returns the last seq."""
        if not items:
            return self.last_seq
        with self._lock:
            seq = self._next_seq
            for item in items:
                item.seq = seq
                seq += 1
            data = b"".join(records.encode(item) for item in items)
            cap = self._max_bytes
            if not all(isinstance(item, Alert) for item in items):
                cap -= self._max_bytes // 20  # the last 5 % is kept for alerts
            if self.size_bytes + len(data) > cap:
                self.rejected += len(items)
                raise SpoolFull(
                    f"spool {self.directory} is at its cap of {self._max_bytes} bytes;"
                    " records dropped until the platform acknowledges older ones"
                )
            if self._sizes[self._firsts[-1]] >= self._segment_bytes:
                self._open_segment(self._next_seq)
            self._write(data, len(items))
            self._next_seq = seq
            return seq - 1

    def _write(self, data: bytes, count: int) -> None:
        first = self._firsts[-1]
        before = self._sizes[first]
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as e:
            os.ftruncate(self._fd, before)  # never leave half a batch behind
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                self.rejected += count
                raise SpoolFull(f"disk full under {self.directory}: records dropped") from e
            raise SpoolError(f"cannot write to {self._segment_path(first)}: {e}") from e
        self._sizes[first] = before + len(data)
        self._unsynced += count
        now = time.monotonic()
        if self._unsynced >= self._fsync_every or now - self._last_sync >= self._fsync_interval_s:
            self._sync(now)

    def _sync(self, now: float) -> None:
        os.fsync(self._fd)
        self._unsynced = 0
        self._last_sync = now

    def flush(self) -> None:
        """fsync what was written since the last sync."""
        with self._lock:
            if self._unsynced and self._fd >= 0:
                self._sync(time.monotonic())

    # -- reading and acking -----------------------------------------------------------

    def read(self, from_seq: int, limit: int = 1000, max_bytes: int = 4 << 20) -> list[Record]:
        """Up to `limit` records from `from_seq` on, in order (fewer at the end)."""
        return [records.decode(r) for r in self.read_raw(from_seq, limit, max_bytes)]

    def read_raw(
        self, from_seq: int, limit: int = 1000, max_bytes: int = 4 << 20
    ) -> list[RawRecord]:
        """Like `read`, but the msgpack payloads as stored (nothing decoded)."""
        with self._lock:
            found: list[RawRecord] = []
            index = max(bisect.bisect_right(self._firsts, from_seq) - 1, 0)
            start = 0
            if self._cursor is not None and self._cursor[0] == from_seq:
                index, start = self._firsts.index(self._cursor[1]), self._cursor[2]
            for first in self._firsts[index:]:
                if self._read_segment(first, start, from_seq, found, limit, max_bytes):
                    break
                start = 0
            return found

    def _read_segment(
        self,
        first: int,
        pos: int,
        from_seq: int,
        found: list[RawRecord],
        limit: int,
        max_bytes: int,
    ) -> bool:
        """Append records of one segment from byte `pos` on; True once the batch is full."""
        chunk, size = min(max_bytes, 1 << 20), 0
        with self._segment_path(first).open("rb") as f:
            while True:
                f.seek(pos)
                data = f.read(chunk)
                consumed = 0
                for offset, end, seq, kind in records.scan(data):
                    consumed = end
                    if seq < from_seq:
                        continue
                    found.append(records.raw(data, offset, end, seq, kind))
                    size += end - offset
                    self._cursor = (seq + 1, first, pos + end)
                    if len(found) >= limit or size >= max_bytes:
                        return True
                if consumed == 0:
                    if len(data) < chunk:
                        return False  # end of the segment
                    chunk *= 2  # one record larger than the chunk
                pos += consumed

    def ack(self, seq: int) -> None:
        """Record that the platform stored everything up to `seq`; delete spent segments."""
        with self._lock:
            if seq <= self.acked_seq:
                return
            self.acked_seq = min(seq, self.last_seq)
            tmp = self.directory / "acked.tmp"
            with tmp.open("w") as f:
                f.write(str(self.acked_seq))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / "acked")
            if self.acked_seq == self.last_seq and self._sizes[self._firsts[-1]]:
                self._open_segment(self._next_seq)  # so the spent one can go
            while len(self._firsts) > 1 and self._firsts[1] - 1 <= self.acked_seq:
                first = self._firsts.pop(0)
                self._sizes.pop(first)
                if self._cursor is not None and self._cursor[1] == first:
                    self._cursor = None
                self._segment_path(first).unlink(missing_ok=True)

    def close(self) -> None:
        """fsync and close the active segment."""
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
