"""Give large freed buffers back to the system at once (glibc's malloc tuning).

The agent's pipeline makes short-lived buffers of megabytes per batch: the spool joins a
batch's encoded records, the transport reads and frames up to a thousand of them. glibc
serves blocks past its mmap threshold with their own mapping, unmapped on free, but it
raises that threshold to the size of each such block freed (up to 32 MiB); after the
first batch the buffers come from the heap and the per-thread arenas, which keep the
pages once touched. The agent's resident size then grows by the largest batches it has
seen. A fixed threshold keeps every large buffer in its own mapping: freed, it is gone.

glibc also gives each new thread an arena of its own (up to eight per core), and each
keeps the pages its thread's allocations once touched. The agent's threads (sensor,
transport, firewall, profile and inventory syncs ...) mostly allocate under the GIL, one
at a time: two arenas serve them without waiting, and hold far fewer free pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt parameter ids from glibc's malloc.h
M_ARENA_MAX = -8
LARGE_BUFFER_BYTES = 128 * 1024  # glibc's default threshold, held fixed
AGENT_ARENAS = 2


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name is not None else None


def _mallopt(parameter: int, value: int) -> bool:
    """glibc's `mallopt`; False where the C library has none (not glibc): nothing changed."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(parameter, value))


def return_large_buffers(threshold: int = LARGE_BUFFER_BYTES) -> bool:
    """Serve blocks of `threshold` bytes and more from their own mappings, unmapped on free.

    Returns False where the C library has no `mallopt` (not glibc): nothing is changed.
    """
    return _mallopt(M_MMAP_THRESHOLD, threshold)


def limit_arenas(count: int = AGENT_ARENAS) -> bool:
    """Let threads share at most `count` malloc arenas (set before the threads start).

    Returns False where the C library has no `mallopt` (not glibc): nothing is changed.
    """
    return _mallopt(M_ARENA_MAX, count)


def release_free_pages() -> bool:
    """Hand the pages of freed heap blocks back to the system (glibc's `malloc_trim`).

    Loading rules compiles and discards megabytes of syntax trees and source text; the
    blocks are free but their pages stay resident, scattered between live ones, until
    trimmed. Returns False where there is no `malloc_trim`.
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    trim(0)
    return True
