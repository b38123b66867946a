"""Descriptor classes the kernel drops per I/O event type, from the kinds rules can match."""

from __future__ import annotations

import pytest

from stockade.model import EventType
from stockade.sensor.bpf.iofilter import IOF_OTHER, dropped_classes, io_drop_entries
from stockade.sensor.bpf.kinds import KIND_IDS

INET, SOCK, PIPE, FILE, DIR = 1, 2, 4, 8, 16
ALL = INET | SOCK | PIPE | FILE | DIR | IOF_OTHER


@pytest.mark.parametrize(
    ("kinds", "dropped"),
    [
        (frozenset("46"), ALL & ~INET),
        (frozenset("4"), ALL & ~INET),
        (frozenset("pu"), ALL & ~(PIPE | SOCK)),
        (frozenset("f"), ALL & ~FILE),
        (frozenset(), ALL),
        (frozenset("4e"), ALL & ~(INET | IOF_OTHER)),  # a kind with no class: others kept
    ],
    ids=["ip", "ipv4", "pipe-unix", "file", "none", "unplaced"],
)
def test_dropped_classes(kinds: frozenset[str], dropped: int) -> None:
    assert dropped_classes(kinds) == dropped


def test_only_io_types_get_an_entry() -> None:
    entries = io_drop_entries({"write": frozenset("46"), "openat": frozenset("f")})
    assert entries == {KIND_IDS[EventType.WRITE]: ALL & ~INET}
