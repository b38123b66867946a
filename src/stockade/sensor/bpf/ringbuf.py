"""Read a BPF ring buffer straight from its memory map, without a callback per record.

Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (writable by us),
page 1 the producer position, then the data area, which the kernel lets us map twice in a
row so a record that wraps around reads as one slice. We map it once (the second copy
would count again in the agent's RSS) and join the two parts of a wrapped record. Each
record starts with an 8-byte header: the length with BUSY (bit 31) and DISCARD (bit 30)
flags, then a page offset; records are 8-aligned, so a header never wraps.

The consumer position is the ring's sequence number: a 64-bit byte offset that only
grows for as long as the map lives (pinned, across agent processes). By default `read`
commits it as it goes, freeing the space at once. After `hold_commits()` it only moves on
`commit(position)`: the agent commits once the records before `position` are in its
spool, so a reader killed before that leaves them in the ring for the next one.
"""

from __future__ import annotations

import mmap
import select
import struct
import time

_BUSY, _DISCARD = 1 << 31, 1 << 30
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_HELD_WAIT_STEP_S = 0.01


class RingReader:
    """Drains one ring buffer map; `read` returns each submitted record as bytes."""

    def __init__(self, map_fd: int, size: int, wake_bytes: int = 1) -> None:
        page = mmap.PAGESIZE
        self._mask = size - 1
        self._size = size
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._data = mmap.mmap(map_fd, page + size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._page = page
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)
        self._wake_bytes = wake_bytes
        self._auto_commit = True
        self._pos = self.committed  # where the next read starts

    @property
    def committed(self) -> int:
        """The consumer position the kernel sees: everything before it may be overwritten."""
        return int(_U64.unpack_from(self._consumer, 0)[0])

    @property
    def position(self) -> int:
        """Where the last read ended (the next read starts here)."""
        return self._pos

    def hold_commits(self) -> None:
        """From now on, move the consumer position only on `commit`."""
        self._auto_commit = False

    def commit(self, position: int) -> None:
        """Free the ring up to `position` (a value `position` returned, not past the reads)."""
        if not self.committed <= position <= self._pos:
            raise ValueError(
                f"commit at {position} outside {self.committed}..{self._pos} (committed..read)"
            )
        _U64.pack_into(self._consumer, 0, position)

    def wait(self, timeout_s: float) -> None:
        """Block until the kernel wakes readers (past the fill threshold) or time runs out.

        While read records wait uncommitted, epoll reports the ring readable at once; then
        wait in small steps until as much new data as the kernel's threshold has come.
        """
        if self._pos == self.committed:
            self._epoll.poll(timeout_s)
            return
        deadline = time.monotonic() + timeout_s
        while self.produced - self._pos < self._wake_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, _HELD_WAIT_STEP_S))

    @property
    def produced(self) -> int:
        """The producer position: where the kernel writes its next record."""
        return int(_U64.unpack_from(self._data, 0)[0])

    def read(self, out: list[bytes], limit: int = 1 << 20) -> int:
        """Append every complete record (at most `limit`) to `out`; returns how many."""
        data, page, mask, size = self._data, self._page, self._mask, self._size
        cons = self._pos
        prod = _U64.unpack_from(data, 0)[0]
        n = 0
        while cons < prod and n < limit:
            at = page + (cons & mask)
            head = _U32.unpack_from(data, at)[0]
            if head & _BUSY:
                break  # reserved but not submitted yet; later records wait behind it
            length = head & ~(_BUSY | _DISCARD)
            if not head & _DISCARD:
                end = at + 8 + length
                if end <= page + size:
                    out.append(data[at + 8 : end])
                else:  # wrapped: the tail of the data area, then its start
                    out.append(data[at + 8 : page + size] + data[page : end - size])
                n += 1
            cons += (length + 8 + 7) & ~7
            if n & 1023 == 0 and self._auto_commit:
                _U64.pack_into(self._consumer, 0, cons)  # free space for the producers
        self._pos = cons
        if self._auto_commit:
            _U64.pack_into(self._consumer, 0, cons)
        return n

    def close(self) -> None:
        """Unmap and stop waiting."""
        self._epoll.close()
        self._data.close()
        self._consumer.close()
