"""The compiled readers give exactly what the Python readers give, record for record.

`RecordDecoder.decode_all` runs the compiled readers (`_readers.pyx`) where they are
built; the Python readers stay the reference. Both decode the same records here: every
shape the reader tests know, every cut of them, kinds the compiled readers hand back,
and a stream the kernel wrote while real processes ran.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

import pytest

from stockade.model import Event, EventType
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.decoder import COMPILED, RecordDecoder
from tests.support.bpf_records import READER_CASES, SOCKADDR, V4, record
from tests.support.ci import skip_or_fail


@pytest.fixture(autouse=True)
def _compiled() -> None:
    if not COMPILED:
        skip_or_fail("the compiled readers are not built (setup.py: Cython and a C compiler)")


def _both(records: Iterable[bytes]) -> tuple[tuple[list[Event], int], tuple[list[Event], int]]:
    records = list(records)
    compiled = RecordDecoder(epoch_offset_ns=5)
    python = RecordDecoder(epoch_offset_ns=5, compiled=False)
    assert compiled.compiled and not python.compiled
    return compiled.decode_all(records), python.decode_all(records)


def _shapes() -> list[bytes]:
    records = [record(kind, res=res, a=a, slots=slots, flags=flags)
               for _, kind, res, a, slots, flags in READER_CASES]  # fmt: skip
    records += [
        record(EventType.OPENAT, res=3, a=(2**32 - 100, 0, 0o1101, 0o644, 0, 0),
                slots=(b"x\0", b"", b"x\0tmp\0")),  # the kernel's walk
        record(EventType.OPENAT, res=-2, a=(5, 0, 0, 0, 0, 0), slots=(b"/nope\0",)),  # as given
        record(EventType.OPENAT, res=-14),  # no path at all
        record(EventType.OPENAT, res=3, slots=(b"caf\xc3\xa9\xff\0",)),  # not UTF-8
        record(EventType.EXECVE, slots=(b"/bin/x\0", b"x\0-v\0", b"x\0bin\0", b"tmp\0")),
        record(EventType.EXECVE, res=-2, slots=(b"/nope\0",)),
        record(EventType.UNLINKAT, a=(2**32 - 100, 0, 0, 0, 0, 0), slots=(b"/tmp/x\0",)),
        record(EventType.BIND, a=(3, 0, 16, 0, 0, 0), slots=(SOCKADDR,)),
        record(EventType.CONNECT, a=(3, 0, 16, 0, 0, 0), slots=(b"", V4[:20]), flags=4),
        record(EventType.SOCKET, uid=7),  # another identity
        record(EventType.OPENAT, slots=(b"/x\0",)),  # and back
    ]  # fmt: skip
    unknown = bytearray(record(EventType.OPENAT, slots=(b"/x\0",)))
    unknown[153] += 1  # the kind's second byte: same low byte, unknown kind
    return [*records, bytes(unknown), b"\0" * 40, b""]


def test_every_shape_decodes_the_same() -> None:
    compiled, python = _both(_shapes())
    assert compiled == python
    assert compiled[1] == 4  # the cut tuple, the unknown kind, the short and the empty record


def test_every_cut_of_every_shape_decodes_the_same() -> None:
    for rec in _shapes():
        compiled, python = _both(rec[:n] for n in range(len(rec) + 1))
        assert compiled == python, f"cuts of {rec!r}"


def test_a_batch_of_kinds_in_turn_shares_actors_as_the_python_readers_do() -> None:
    records = _shapes() * 3
    (compiled, _), (python, _) = _both(records)
    assert [id(e.proc) == id(compiled[0].proc) for e in compiled] == [
        id(e.proc) == id(python[0].proc) for e in python
    ]


def test_exits_drop_identities_as_the_python_readers_do() -> None:
    """Each side reads some kinds (a rename only in Python): an exit read by either drops
    the group's identities for both, and neither keeps its last actor past it."""
    rename = record(EventType.RENAMEAT2, slots=(b"/a\0", b"/b\0"), pid=42, tid=42)
    opened = record(EventType.OPENAT, slots=(b"/x\0",), pid=42, tid=42)
    exited = record(EventType.PROCEXIT, pid=42, tid=42)
    other = record(EventType.SOCKET, pid=50, tid=50)
    records = [rename, opened, other, exited, rename, opened, other, opened, exited, rename]
    (compiled, _), (python, _) = _both(records)
    assert compiled == python
    assert [[e.proc is f.proc for f in compiled] for e in compiled] == [
        [e.proc is f.proc for f in python] for e in python
    ]
    assert compiled[0].proc is compiled[1].proc and compiled[4].proc is not compiled[1].proc


@pytest.mark.ebpf
@pytest.mark.root
def test_a_real_stream_decodes_the_same() -> None:
    """Records the kernel wrote while a shell ran programs and a socket pair talked."""
    source = BpfSource()
    source.start()
    records: list[bytes] = []
    try:
        work = subprocess.Popen(
            [sys.executable, "-c", _WORKLOAD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while work.poll() is None:
            records += source.poll_raw(0.05)
        records += source.poll_raw(0.1)
    finally:
        source.stop()
    kinds = {e.type for e in RecordDecoder(compiled=False).decode_all(records)[0]}
    assert {"openat", "execve", "connect", "accept4", "socket", "procexit"} <= kinds
    compiled, python = _both(records)
    assert compiled == python and compiled[1] == 0


_WORKLOAD = """
import socket, subprocess
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
for _ in range(20):
    socket.create_connection(server.getsockname()).close()
    server.accept()[0].close()
    subprocess.run(["/bin/cat", "/etc/hostname", "/nonexistent"], check=False)
"""
