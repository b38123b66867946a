"""fdlist.* fields: the descriptors of a poll event, from Event.args["fds"].

An entry of args["fds"] is a descriptor number, or a mapping with FdInfo's keys (num,
type, name, sip, sport, dip, dport) where the sensor knew the descriptor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stockade.model import Event
from stockade.rules.fields.base import FieldTable, FieldType, simple

_IP = frozenset({"ipv4", "ipv6"})


def _entries(e: Event) -> list[Mapping[str, Any]] | None:
    fds = e.args.get("fds")
    if not isinstance(fds, list | tuple) or not fds:
        return None
    return [item if isinstance(item, Mapping) else {"num": item} for item in fds]


def _joined(pick_key: str, *, ip_only: bool) -> Any:
    """Each entry's value joined by commas; sockets' fields skip entries that are not IP,
    and those without that end (a listening socket has no client end, as in Falco)."""

    def extract(e: Event) -> str | None:
        entries = _entries(e)
        if entries is None:
            return None
        values = []
        for entry in entries:
            if ip_only and (entry.get("type") not in _IP or pick_key not in entry):
                continue
            value = entry.get(pick_key)
            values.append("<NA>" if value in (None, "") else str(value))
        return ",".join(values)

    return extract


def register(t: FieldTable) -> None:
    """Add the fdlist.* fields to `t`."""
    S = FieldType.STRING
    for name, key in (("nums", "num"), ("names", "name")):
        simple(t, f"fdlist.{name}", S, f"descriptor {name}",
               _joined(key, ip_only=False))  # fmt: skip
    for name, key, what in (
        ("cips", "sip", "client IPs"),
        ("sips", "dip", "server IPs"),
        ("cports", "sport", "client ports"),
        ("sports", "dport", "server ports"),
    ):
        simple(t, f"fdlist.{name}", S, what, _joined(key, ip_only=True))
