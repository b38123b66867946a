"""Refused logins counted per address: the audit log gets a count per window, not a row each."""

from __future__ import annotations

from dataclasses import dataclass, field

MINUTE_NS = 60 * 1_000_000_000
MANY_ADDRESSES = "*"  # where refusals are counted once `max_addresses` are tracked


@dataclass(frozen=True, slots=True)
class RefusalCount:
    """How many logins from `address` were refused after the first, in the window ending `until`."""

    address: str
    count: int
    until: int


@dataclass
class _Window:
    ends: int
    repeats: int = 0


@dataclass
class RefusalTally:
    """Per address, the first refused login of a window is reported at once (`refused` says
    so) and the repeats as one count when the window ends (`ended`): a flood of refusals costs
    the audit log, and the store's one writer, a row or two a minute per address.
    """

    window_ns: int = MINUTE_NS
    max_addresses: int = 1000  # bound memory under a flood from made-up addresses
    _windows: dict[str, _Window] = field(default_factory=dict)
    _closed: list[RefusalCount] = field(default_factory=list)

    def refused(self, address: str, now: int) -> bool:
        """Count one refusal; True when it opens a window (report it now)."""
        if address not in self._windows and len(self._windows) >= self.max_addresses:
            address = MANY_ADDRESSES
        window = self._windows.get(address)
        if window is not None and window.ends <= now:
            self._close(address)
            window = None
        if window is None:
            self._windows[address] = _Window(now + self.window_ns)
            return True
        window.repeats += 1
        return False

    def ended(self, now: int) -> list[RefusalCount]:
        """The repeats of every window that has ended (windows without any are dropped)."""
        for address in [a for a, w in self._windows.items() if w.ends <= now]:
            self._close(address)
        counts, self._closed = self._closed, []
        return counts

    def drain(self) -> list[RefusalCount]:
        """The repeats of every window, ended or not (on shutdown: nothing counted is lost)."""
        for address in list(self._windows):
            self._close(address)
        counts, self._closed = self._closed, []
        return counts

    def _close(self, address: str) -> None:
        window = self._windows.pop(address)
        if window.repeats:
            self._closed.append(RefusalCount(address, window.repeats, window.ends))
