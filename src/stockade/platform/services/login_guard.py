"""Login rate limiting: lockouts per account+address, per address and per account (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

MINUTE_NS = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Lockout:
    """A key locked from logging in until `until` (ns), and why."""

    key: str
    until: int


@dataclass
class LoginGuard:
    """Counts failed logins in a window and locks out a key past its limit.

    Three keys: the account from one address (locks a guesser fast without locking the
    owner out elsewhere), the address over all accounts (password spraying) and the account
    over all addresses (a guesser with many addresses).
    """

    per_account_address: int = 5
    per_address: int = 20
    per_account: int = 100
    window_ns: int = 15 * MINUTE_NS
    lockout_ns: int = 15 * MINUTE_NS
    max_keys: int = 100_000  # bound memory under a flood of made-up names
    _failures: dict[str, deque[int]] = field(default_factory=dict)
    _locked: dict[str, int] = field(default_factory=dict)

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"account {username!r} from {address}", self.per_account_address),
            (_address_key(address), self.per_address),
            (f"account {username!r}", self.per_account),
        ]

    def locked(self, username: str, address: str, now: int) -> Lockout | None:
        """The lockout that refuses this login now, if any."""
        for key, _ in self._keys(username, address):
            until = self._locked.get(key, 0)
            if until > now:
                return Lockout(key, until)
        return None

    def address_locked(self, address: str, now: int) -> Lockout | None:
        """The lockout of the address over all accounts (password spraying), if any now."""
        key = _address_key(address)
        until = self._locked.get(key, 0)
        return Lockout(key, until) if until > now else None

    def failed(self, username: str, address: str, now: int) -> list[Lockout]:
        """Count a failed login; returns the lockouts it starts."""
        return self._count(self._keys(username, address), now)

    def _count(self, keys: list[tuple[str, int]], now: int) -> list[Lockout]:
        if len(self._failures) > self.max_keys:
            self._forget_old(now)
        started = []
        for key, limit in keys:
            if self._locked.get(key, 0) > now:
                continue  # a guess that was already under way when the lockout began
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while times and times[0] <= now - self.window_ns:
                times.popleft()
            if len(times) >= limit:
                self._locked[key] = now + self.lockout_ns
                del self._failures[key]
                started.append(Lockout(key, now + self.lockout_ns))
        return started

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of this account from this address."""
        self._failures.pop(self._keys(username, address)[0][0], None)

    @property
    def keys_tracked(self) -> int:
        """How many keys have failures counted (bounded by about `max_keys`)."""
        return len(self._failures)

    def _forget_old(self, now: int) -> None:
        self._failures = {k: t for k, t in self._failures.items() if t[-1] > now - self.window_ns}
        self._locked = {k: until for k, until in self._locked.items() if until > now}


def _address_key(address: str) -> str:
    return f"address {address}"
