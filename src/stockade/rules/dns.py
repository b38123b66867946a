"""Names of socket addresses for fd.cip.name, fd.sip.name, fd.lip.name and fd.rip.name.

As Falco's DNS manager: no reverse lookups. Only the names rules compare these fields
with (`fd.sip.name = api.example.com`, `fd.sip.name in (...)`) are watched: each is
resolved to its addresses, and an address is named by the first watched name that
resolves to it; an address no watched name resolves to has no name (None, `<NA>`).

Resolution: by default from the hosts file only (/etc/hosts), which sends nothing on the
network; the configuration key `dns_resolver: system` (`DnsNames.use`) switches to the
system's resolver (getaddrinfo: hosts file, then DNS), as Falco resolves. New names are
resolved when the rules are compiled; every `refresh_s` seconds all watched names are
resolved again in a background thread, started by the first lookup that finds the
answers stale.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

Resolver = Callable[[str], frozenset[str]]
HOSTS_FILE = Path("/etc/hosts")
REFRESH_S = 30.0


def hosts_resolver(path: Path = HOSTS_FILE) -> Resolver:
    """A resolver reading `path` (hosts(5) format) at each call."""

    def resolve(name: str) -> frozenset[str]:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return frozenset()
        wanted = name.lower()
        found = set()
        for line in lines:
            fields = line.partition("#")[0].split()
            if len(fields) >= 2 and wanted in (f.lower() for f in fields[1:]):
                found.add(fields[0])
        return frozenset(found)

    return resolve


def system_resolver(name: str) -> frozenset[str]:
    """The addresses getaddrinfo gives `name` (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return frozenset()
    return frozenset(str(info[4][0]) for info in infos)


class DnsNames:
    """The watched names and the addresses each resolves to (a reverse map kept too)."""

    def __init__(
        self,
        resolve: Resolver | None = None,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve or hosts_resolver()
        self._refresh_s = refresh_s
        self._clock = clock
        self._names: dict[str, frozenset[str]] = {}  # watched name -> its addresses
        self._by_address: dict[str, str] = {}  # address -> first watched name
        self._resolved_at = clock()
        self._lock = threading.Lock()
        self._refreshing = False

    def use_system_resolver(self) -> None:
        """Resolve through getaddrinfo (hosts file, then DNS) from now on."""
        self._resolve = system_resolver

    def use(self, resolver: str) -> None:
        """Resolve with "system" (getaddrinfo) or "hosts" (the hosts file) from now on."""
        self._resolve = system_resolver if resolver == "system" else hosts_resolver()

    def watch(self, names: Iterable[str]) -> None:
        """Watch `names` (those not watched yet are resolved now)."""
        new = [n for n in dict.fromkeys(names) if n and n not in self._names]
        if not new:
            return
        resolved = {name: _normalized(self._resolve(name)) for name in new}
        with self._lock:
            self._names.update(resolved)
            self._by_address = _reverse(self._names)

    def name_of(self, address: str) -> str | None:
        """The first watched name resolving to `address`, else None."""
        if self._clock() - self._resolved_at > self._refresh_s:
            self._start_refresh()
        return self._by_address.get(address)

    def matches(self, names: Iterable[str], address: str) -> bool:
        """Whether any of `names` resolves to `address` (each watched, else no)."""
        if self._clock() - self._resolved_at > self._refresh_s:
            self._start_refresh()
        known = self._names
        return any(address in known.get(name, ()) for name in names)

    def refresh(self) -> None:
        """Resolve every watched name again (the background thread's work)."""
        names = list(self._names)
        resolved = {name: _normalized(self._resolve(name)) for name in names}
        with self._lock:
            self._names.update(resolved)
            self._by_address = _reverse(self._names)
            self._resolved_at = self._clock()
            self._refreshing = False

    def _start_refresh(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
            self._resolved_at = self._clock()  # one refresh per period, even a slow one
        threading.Thread(target=self.refresh, name="stockade-dns", daemon=True).start()


def _normalized(addresses: Iterable[str]) -> frozenset[str]:
    """Addresses in the text the sensor gives them (an IPv4 one also as IPv4-mapped IPv6);
    what is no address is left out."""
    found: set[str] = set()
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.partition("%")[0])
        except ValueError:
            continue
        found.add(str(address))
        if address.version == 4:
            found.add(f"::ffff:{address}")
    return frozenset(found)


def _reverse(names: dict[str, frozenset[str]]) -> dict[str, str]:
    """Address -> the first name (in watch order) that resolves to it."""
    by_address: dict[str, str] = {}
    for name, addresses in names.items():
        for address in addresses:
            by_address.setdefault(address, name)
    return by_address


DNS_NAMES = DnsNames()
"""The names the loaded rules watch; fd.*.name fields read it."""

NAME_FIELDS = frozenset({"fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"})
