"""The agent's malloc tuning: large freed buffers leave the resident set."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from functools import partial

import pytest

from stockade.agent.heap import return_large_buffers
from tests.support.ci import require


def test_glibc_takes_a_fixed_mmap_threshold() -> None:
    require(ctypes.util.find_library("c") is not None, "no C library found")
    assert return_large_buffers() is True


def test_no_mallopt_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    assert return_large_buffers() is False


_THREADS_MALLOC = """
import ctypes, sys, threading
from stockade.agent.heap import limit_arenas
if sys.argv[1] != "0":
    assert limit_arenas(int(sys.argv[1]))
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
def work() -> None:
    for _ in range(1000):
        libc.malloc(64)  # ctypes lets go of the GIL: the threads allocate at once
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


@pytest.mark.parametrize(("limit", "most"), [(1, 1), (2, 2)])
def test_threads_share_the_arenas_allowed(limit: int, most: int) -> None:
    require(ctypes.util.find_library("c") is not None, "no C library found")
    run = partial(subprocess.run, capture_output=True, text=True, check=True, timeout=60)
    free = run([sys.executable, "-c", _THREADS_MALLOC, "0"]).stderr.count("Arena ")
    limited = run([sys.executable, "-c", _THREADS_MALLOC, str(limit)]).stderr.count("Arena ")
    assert free > most  # a thread of its own gets an arena of its own
    assert 1 <= limited <= most
