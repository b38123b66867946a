"""Which I/O types the socket-layer programs report: the rules' wants decide, per direction."""

from __future__ import annotations

from stockade.model import EventType as T
from stockade.sensor.bpf.kinds import KIND_IDS
from stockade.sensor.bpf.socklayer import (
    NOT_SOCKETS,
    SOCKET_LAYER_SLOT,
    common_drop,
    socket_layer_types,
)

SENDS = {T.WRITE, T.WRITEV, T.SENDTO, T.SENDMSG}


def _sockets_only(*types: T) -> dict[int, int]:
    return {KIND_IDS[t]: NOT_SOCKETS for t in types}


def test_a_write_on_sockets_takes_the_send_program_with_every_send_call() -> None:
    drop = _sockets_only(*SENDS)
    assert socket_layer_types(SENDS, drop) == SENDS


def test_sendto_and_sendmsg_alone_keep_their_own_pairs() -> None:
    drop = _sockets_only(T.SENDTO, T.SENDMSG)
    assert socket_layer_types({T.SENDTO, T.SENDMSG}, drop) == frozenset()


def test_each_direction_is_decided_on_its_own() -> None:
    types = {T.SENDTO, T.READ, T.RECVFROM}
    assert socket_layer_types(types, _sockets_only(*types)) == {T.READ, T.RECVFROM}


def test_a_write_that_rules_want_on_files_too_stays_on_its_pair() -> None:
    drop = _sockets_only(T.SENDTO) | {KIND_IDS[T.WRITE]: NOT_SOCKETS & ~8}  # files kept
    assert socket_layer_types({T.WRITE, T.SENDTO}, drop) == frozenset()


def test_the_shared_slot_holds_the_classes_every_socket_layer_kind_drops() -> None:
    inet, unix = 1, 2  # c/io.bpf.h IOF_INET, IOF_SOCK
    drop = {KIND_IDS[T.WRITE]: NOT_SOCKETS | unix, KIND_IDS[T.SENDTO]: NOT_SOCKETS | unix}
    assert common_drop({T.WRITE, T.SENDTO}, drop) == {SOCKET_LAYER_SLOT: NOT_SOCKETS | unix}
    drop[KIND_IDS[T.SENDTO]] = NOT_SOCKETS | inet  # one kind wants unix sockets: kept
    assert common_drop({T.WRITE, T.SENDTO}, drop) == {SOCKET_LAYER_SLOT: NOT_SOCKETS}
    assert common_drop(set(), drop) == {}
    assert SOCKET_LAYER_SLOT not in KIND_IDS.values()
