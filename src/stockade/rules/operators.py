"""Value parsing by field type and the run-time helpers generated conditions call."""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from stockade.rules.errors import RuleCompileError
from stockade.rules.fields import FieldType
from stockade.rules.regex import regex_match

_IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_value(ftype: FieldType, raw: str) -> Any:
    """Convert a condition literal to the field type's value; RuleCompileError if invalid."""
    if ftype is FieldType.DOUBLE:
        try:
            return float(raw)
        except ValueError:
            raise RuleCompileError(f"'{raw}' is not a valid number") from None
    if ftype.numeric:
        try:
            return int(raw, 16) if raw.lower().startswith("0x") else int(float(raw))
        except ValueError:
            raise RuleCompileError(f"'{raw}' is not a valid number") from None
    if ftype is FieldType.BOOL:
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise RuleCompileError(f"'{raw}' is not a valid bool (true or false)")
    if ftype is FieldType.IPADDR:
        try:
            return str(ipaddress.ip_address(raw))
        except ValueError:
            raise RuleCompileError(f"'{raw}' is not a valid IP address") from None
    return raw


@functools.lru_cache(maxsize=4096)
def _address(value: str) -> tuple[int, int] | None:
    """(IP version, address as an integer), cached: a few peers make most traffic."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return address.version, int(address)


NetRange = tuple[int, int, int]  # (IP version, first address, last address)


class NetSet:
    """Networks as integer ranges, with the verdicts for recently seen addresses cached."""

    __slots__ = ("_cache", "ranges")
    CACHE_SIZE = 4096

    def __init__(self, nets: tuple[_IpNet, ...]) -> None:
        self.ranges: tuple[NetRange, ...] = tuple(
            (n.version, int(n.network_address), int(n.broadcast_address)) for n in nets
        )
        self._cache: dict[str, bool] = {}

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        verdict = self._cache.get(value)
        if verdict is None:
            verdict = self._decide(value)
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            self._cache[value] = verdict
        return verdict

    def _decide(self, value: str) -> bool:
        found = _address(value) if value else None
        if found is None:
            return False
        version, number = found
        for v, lo, hi in self.ranges:  # noqa: SIM110 - a loop beats any(genexpr) here
            if v == version and lo <= number <= hi:
                return True
        return False


def net_ranges(nets: tuple[_IpNet, ...]) -> NetSet:
    """The networks in the form `in_nets` checks against."""
    return NetSet(nets)


def in_nets(value: Any, nets: NetSet) -> bool:
    """True when the IP address `value` lies in one of `nets`."""
    return value in nets


def any_of(test: Callable[[Any], bool], values: Any) -> bool:
    """True when `test` holds for one of a multi-valued field's values."""
    return any(map(test, values or ()))


def pmatch(value: Any, prefixes: tuple[str, ...]) -> bool:
    """Falco's pmatch: the path equals one of `prefixes` or lies below one."""
    if not isinstance(value, str):
        return False
    return any(value == p or value.startswith(p + "/") for p in prefixes)


def _glob(value: str, pattern: str, flags: int = 0) -> bool:
    return re.match(fnmatch.translate(pattern), value, flags | re.DOTALL) is not None


_DYNAMIC: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "contains": lambda a, b: str(b) in str(a),
    "icontains": lambda a, b: str(b).lower() in str(a).lower(),
    "bcontains": lambda a, b: str(b) in str(a),
    "startswith": lambda a, b: str(a).startswith(str(b)),
    "bstartswith": lambda a, b: str(a).startswith(str(b)),
    "endswith": lambda a, b: str(a).endswith(str(b)),
    "glob": lambda a, b: _glob(str(a), str(b)),
    "iglob": lambda a, b: _glob(str(a), str(b), re.IGNORECASE),
    "regex": lambda a, b: regex_match(str(a), str(b)),
    "in": lambda a, b: a == b or (isinstance(b, tuple) and a in b),
    "intersects": lambda a, b: a == b or (isinstance(b, tuple) and a in b),
    "pmatch": lambda a, b: pmatch(a, (str(b).rstrip("/"),)),
}


def dynamic_check(op: str, left: Any, right: Any) -> bool:
    """Compare two extracted values (a field against `val(other.field)` or a transformer)."""
    if left is None or right is None:
        return False
    try:
        return _DYNAMIC[op](left, right)
    except (TypeError, re.error):
        return False
