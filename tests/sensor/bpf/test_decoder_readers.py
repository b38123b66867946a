"""The decoder's own readers of frequent kinds give what the argspec builders give."""

from __future__ import annotations

import struct

import pytest

from stockade.model import EventType
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.argspec import _CACHE_MAX, BUILDERS, HDR_SIZE, TEXTS, WALKED, text, walked
from stockade.sensor.bpf.decoder import DecodeError, RecordDecoder
from stockade.sensor.bpf.kinds import KIND_IDS
from tests.support.bpf_records import READER_CASES, TUPLE, V4, record


@pytest.mark.parametrize(
    ("kind", "res", "a", "slots", "flags"),
    [c[1:] for c in READER_CASES],
    ids=[c[0] for c in READER_CASES],
)
def test_reader_matches_its_builder(
    kind: EventType, res: int, a: tuple[int, ...], slots: tuple[bytes, ...], flags: int
) -> None:
    rec = record(kind, res=res, a=a, slots=slots, flags=flags)
    ev = RecordDecoder(epoch_offset_ns=5).decode(rec)
    lens = [len(s) for s in slots] + [0] * (4 - len(slots))
    offs = [HDR_SIZE + sum(lens[:i]) for i in range(4)]
    flat = tuple(v for pair in zip(offs, lens, strict=True) for v in pair)
    args, fd = BUILDERS[kind](rec, a, flat, res, flags)
    assert (ev.type, ev.ts, ev.res, ev.source) == (kind.value, 1_005, res, "ebpf")
    assert (ev.args, ev.fd) == (args, fd)


def test_cached_addresses_are_read_again_for_each_record() -> None:
    decoder = RecordDecoder()
    names = []
    for port in (40000, 40001):
        tup = TUPLE.pack(2, 1, 6, port, 80, 0, b"\x0a\0\0\x02", b"\x0a\0\0\x03")
        rec = record(EventType.CONNECT, a=(3, 0, 16, 0, 0, 0), slots=(b"", tup), flags=4)
        names.append(decoder.decode(rec).args["tuple"])
    assert names == ["10.0.0.2:40000->10.0.0.3:80", "10.0.0.2:40001->10.0.0.3:80"]


@pytest.mark.parametrize(
    "kind", [EventType.OPENAT, EventType.CONNECT, EventType.ACCEPT4, EventType.SOCKET,
             EventType.VFORK, EventType.PROCEXIT, EventType.EXECVE],
    ids=lambda k: k.value,
)  # fmt: skip
def test_a_kind_sharing_only_its_low_byte_is_unknown(kind: EventType) -> None:
    rec = bytearray(record(kind))
    struct.pack_into("<I", rec, HDR_SIZE - 16, KIND_IDS[kind] + 256)
    with pytest.raises(DecodeError, match="unknown record kind"):
        RecordDecoder().decode(bytes(rec))


@pytest.mark.parametrize(
    "kind", [EventType.OPENAT, EventType.CONNECT, EventType.ACCEPT, EventType.SOCKET,
             EventType.FORK, EventType.PROCEXIT],
    ids=lambda k: k.value,
)  # fmt: skip
def test_a_cut_slot_is_rejected_by_every_reader(kind: EventType) -> None:
    rec = record(kind, slots=(b"/x\0", V4))[:-1]
    with pytest.raises(DecodeError, match="shorter than its slots"):
        RecordDecoder().decode(rec)


def test_actors_are_shared_across_kinds_and_told_apart() -> None:
    decoder = RecordDecoder()
    opened = decoder.decode(record(EventType.OPENAT, slots=(b"/x\0",)))
    sock = decoder.decode(record(EventType.SOCKET, res=3))
    other = decoder.decode(record(EventType.SOCKET, res=3, uid=7))
    again = decoder.decode(record(EventType.PROCEXIT))
    assert opened.proc is sock.proc is again.proc
    assert other.proc is not opened.proc and other.proc.uid == 7


def test_a_groups_exit_drops_every_identity_it_had() -> None:
    """Threads and credentials are identities of their own; the group's exit (the kernel
    reports it once, when the last thread goes) drops them all, and only them."""
    decoder = RecordDecoder(compiled=False)
    main = decoder.decode(record(EventType.OPENAT, slots=(b"/x\0",), pid=42, tid=42)).proc
    thread = decoder.decode(record(EventType.SOCKET, pid=42, tid=44)).proc
    setuid = decoder.decode(record(EventType.SOCKET, pid=42, tid=42, uid=7)).proc
    other = decoder.decode(record(EventType.SOCKET, pid=50, tid=50)).proc
    assert len({id(main), id(thread), id(setuid), id(other)}) == 4
    assert decoder.decode(record(EventType.PROCEXIT, pid=42, tid=44)).proc is thread
    assert [p is other for p in decoder._procs.values()] == [True]
    again = decoder.decode(record(EventType.SOCKET, pid=42, tid=42)).proc
    assert again is not main and again == main  # a late record: built again, the same
    assert decoder.decode(record(EventType.SOCKET, pid=50, tid=50)).proc is other


def test_execveat_gets_a_process_of_its_own() -> None:
    slots = (b"x\0", b"x\0-v\0", b"x\0bin\0", b"tmp\0")
    rec = record(EventType.EXECVEAT, a=(41, 0, 0, 0, 0, 0), slots=slots, flags=2)
    decoder = RecordDecoder(epoch_offset_ns=0)
    ev = decoder.decode(rec)
    p = ev.proc
    assert (ev.type, ev.res, p.exepath, p.argv, p.cwd) == (
        "execveat",
        0,
        "/bin/x",
        ("x", "-v"),
        "/tmp",
    )
    assert (p.exe_from_memfd, p.exe_upper_layer, p.name, p.start_ns) == (True, False, "cat", 500)
    assert ev.args["old_pid"] == 41 and ev.args["args"] == "-v" and ev.args["filename"] == "x"
    assert decoder.decode(rec).proc is not p


def test_a_failed_exec_is_read_by_its_builder() -> None:
    rec = record(EventType.EXECVE, res=-2, slots=(b"/nope\0",))
    ev = RecordDecoder().decode(rec)
    assert (ev.type, ev.res, ev.args, ev.proc.argv) == (
        "execve",
        -2,
        {"res": -2, "filename": "/nope"},
        (),
    )


def test_a_poll_batch_is_decoded_in_order_and_counted() -> None:
    source = BpfSource()  # not started: decode is what poll runs on the records it reads
    records = [
        record(EventType.SOCKET, res=3),
        b"\0" * 40,
        record(EventType.OPENAT, slots=(b"/x\0",)),
        record(EventType.SOCKET, res=4),
    ]
    events = source.decode(records)
    assert [(e.type, e.res) for e in events] == [("socket", 3), ("openat", 0), ("socket", 4)]
    stats = source.stats()
    assert (stats.decode_errors, stats.events_by_type) == (1, {"socket": 2, "openat": 1})
    source.decode(records[:1])
    assert source.stats().events_by_type == {"socket": 3, "openat": 1}


def test_decoded_texts_and_paths_kept_stay_few() -> None:
    """A busy host opens endless unique temporary paths: the caches start over."""
    for n in range(3 * _CACHE_MAX):
        walk = f"x\0pytest-{n}\0tmp\0".encode()  # leaf first, as the kernel writes it
        assert walked(walk, 0, len(walk)) == f"/tmp/pytest-{n}/x"
        given = f"/tmp/pytest-{n}\0".encode()
        assert text(given, 0, len(given)) == f"/tmp/pytest-{n}"
    assert 0 < len(WALKED) <= _CACHE_MAX and 0 < len(TEXTS) <= _CACHE_MAX
