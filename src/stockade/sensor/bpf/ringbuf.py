"""Read a BPF ring buffer straight from its memory map, without a callback per record.

Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (writable by us),
page 1 the producer position, then the data area, which the kernel lets us map twice in a
row so a record that wraps around reads as one slice. We map it once (the second copy
would count again in the agent's RSS) and join the two parts of a wrapped record. Each
record starts with an 8-byte header: the length with BUSY (bit 31) and DISCARD (bit 30)
flags, then a page offset; records are 8-aligned, so a header never wraps.
"""

from __future__ import annotations

import mmap
import select
import struct

_BUSY, _DISCARD = 1 << 31, 1 << 30
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


class RingReader:
    """Drains one ring buffer map; `read` returns each submitted record as bytes."""

    def __init__(self, map_fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self._mask = size - 1
        self._size = size
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._data = mmap.mmap(map_fd, page + size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._page = page
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)

    def wait(self, timeout_s: float) -> None:
        """Block until the kernel wakes readers (past the fill threshold) or time runs out."""
        self._epoll.poll(timeout_s)

    def read(self, out: list[bytes], limit: int = 1 << 20) -> int:
        """Append every complete record (at most `limit`) to `out`; returns how many."""
        data, page, mask, size = self._data, self._page, self._mask, self._size
        cons = _U64.unpack_from(self._consumer, 0)[0]
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
            if n & 1023 == 0:
                _U64.pack_into(self._consumer, 0, cons)  # free space for the producers
        _U64.pack_into(self._consumer, 0, cons)
        return n

    def close(self) -> None:
        """Unmap and stop waiting."""
        self._epoll.close()
        self._data.close()
        self._consumer.close()
