"""Sessions from the utmp family: logged_in_users (utmp) and last (wtmp, and btmp's
failed logins)."""

from __future__ import annotations

import ipaddress
import struct

import msgspec

from stockade.host.table import InventoryTable, Row, Scope, table

# glibc's struct utmp on 64-bit Linux: 384 bytes
UTMP = struct.Struct("<h2xi32s4s32s256shhiii16s20x")
USER_PROCESS = 7
TYPE_NAMES = {
    0: "empty",
    1: "runlevel",
    2: "boot_time",
    3: "new_time",
    4: "old_time",
    5: "init",
    6: "login",
    7: "user",
    8: "dead",
    9: "accounting",
}


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One utmp record, decoded."""

    type: int
    pid: int
    tty: str
    user: str
    host: str
    time: int
    addr: str


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _address(raw: bytes) -> str:
    if raw[4:] == bytes(12):
        return "" if raw[:4] == bytes(4) else str(ipaddress.IPv4Address(raw[:4]))
    return str(ipaddress.IPv6Address(raw))


def parse_utmp(data: bytes) -> list[Entry]:
    """The records of a utmp/wtmp/btmp file (a trailing partial record ignored)."""
    entries = []
    for offset in range(0, len(data) - UTMP.size + 1, UTMP.size):
        kind, pid, line, _id, user, host, _t, _e, _s, sec, _usec, addr = UTMP.unpack_from(
            data, offset
        )
        entries.append(
            Entry(
                type=kind,
                pid=pid,
                tty=_text(line),
                user=_text(user),
                host=_text(host),
                time=sec,
                addr=_address(addr),
            )
        )
    return entries


def _read_bytes(scope: Scope, path: str) -> bytes:
    try:
        return scope.path(path).read_bytes()
    except OSError:
        return b""


class LoggedInUserRow(Row, frozen=True, kw_only=True):
    """osquery logged_in_users."""

    type: str
    user: str
    tty: str
    host: str
    time: int
    pid: int


@table
class LoggedInUsers(InventoryTable):
    """Sessions open now (user records of /run/utmp)."""

    name = "logged_in_users"
    row = LoggedInUserRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per user session."""
        return [
            LoggedInUserRow(
                type=TYPE_NAMES.get(e.type, str(e.type)),
                user=e.user,
                tty=e.tty,
                host=e.host,
                time=e.time,
                pid=e.pid,
                container=scope.container,
                image=scope.image,
            )
            for e in parse_utmp(
                _read_bytes(scope, "/run/utmp") or _read_bytes(scope, "/var/run/utmp")
            )
            if e.type == USER_PROCESS
        ]


class LastRow(Row, frozen=True, kw_only=True):
    """osquery last, plus `failed` for btmp's bad logins."""

    username: str
    tty: str
    pid: int
    type: int
    type_name: str
    time: int
    host: str
    failed: int


@table
class Last(InventoryTable):
    """Login history: wtmp's records and btmp's failed logins."""

    name = "last"
    row = LastRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per record."""
        rows: list[Row] = []
        for path, failed in (("/var/log/wtmp", 0), ("/var/log/btmp", 1)):
            rows += [
                LastRow(
                    username=e.user,
                    tty=e.tty,
                    pid=e.pid,
                    type=e.type,
                    type_name=TYPE_NAMES.get(e.type, str(e.type)),
                    time=e.time,
                    host=e.host,
                    failed=failed,
                    container=scope.container,
                    image=scope.image,
                )
                for e in parse_utmp(_read_bytes(scope, path))
            ]
        return rows
