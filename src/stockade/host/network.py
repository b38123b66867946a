"""Network configuration of a namespace: routes, arp_cache, interface_addresses,
interface_details (read through /proc/PID/net, so a container's are its own)."""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

from stockade.host.table import InventoryTable, Row, Scope, table

ATF_PERM = 0x04
ROUTE_FLAGS = {0x1: "U", 0x2: "G", 0x4: "H"}


def _ipv4(hex_le: str) -> str:
    return socket.inet_ntoa(struct.pack("<I", int(hex_le, 16)))


def ipv4_routes(text: str) -> list[tuple[str, str, str, str, int, int, int]]:
    """(interface, destination, gateway, mask, flags, metric, mtu) of /proc/net/route."""
    found = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 9:
            found.append(
                (f[0], _ipv4(f[1]), _ipv4(f[2]), _ipv4(f[7]), int(f[3], 16), int(f[6]), int(f[8]))
            )
    return found  # fmt: skip


class RouteRow(Row, frozen=True, kw_only=True):
    """osquery routes."""

    destination: str
    netmask: int
    gateway: str
    flags: int
    interface: str
    mtu: int
    metric: int
    type: str


@table
class Routes(InventoryTable):
    """IPv4 and IPv6 routes of the scope's network namespace."""

    name = "routes"
    row = RouteRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per route."""
        rows: list[Row] = []
        for iface, dest, gateway, mask, flags, metric, mtu in ipv4_routes(_read(scope, "route")):
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
            rows.append(
                RouteRow(
                    destination=dest,
                    netmask=prefix,
                    gateway=gateway,
                    flags=flags,
                    interface=iface,
                    mtu=mtu,
                    metric=metric,
                    type="gateway" if flags & 0x2 else "local",
                    container=scope.container,
                    image=scope.image,
                )  # fmt: skip
            )
        for line in _read(scope, "ipv6_route").splitlines():
            f = line.split()
            if len(f) >= 10:
                rows.append(
                    RouteRow(
                        destination=str(ipaddress.IPv6Address(bytes.fromhex(f[0]))),
                        netmask=int(f[1], 16),
                        gateway=str(ipaddress.IPv6Address(bytes.fromhex(f[4]))),
                        flags=int(f[8], 16),
                        interface=f[9],
                        mtu=0,
                        metric=int(f[5], 16),
                        type="gateway" if int(f[8], 16) & 0x2 else "local",
                        container=scope.container,
                        image=scope.image,
                    )  # fmt: skip
                )
        return rows


def _read(scope: Scope, name: str) -> str:
    try:
        return scope.net(name).read_text()
    except OSError:
        return ""


class ArpRow(Row, frozen=True, kw_only=True):
    """osquery arp_cache."""

    address: str
    mac: str
    interface: str
    permanent: str


@table
class ArpCache(InventoryTable):
    """Neighbours of the scope's namespace (/proc/net/arp)."""

    name = "arp_cache"
    row = ArpRow
    changes_often = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per neighbour entry."""
        rows: list[Row] = []
        for line in _read(scope, "arp").splitlines()[1:]:
            f = line.split()
            if len(f) >= 6:
                rows.append(
                    ArpRow(
                        address=f[0],
                        mac=f[3],
                        interface=f[5],
                        permanent="1" if int(f[2], 16) & ATF_PERM else "0",
                        container=scope.container,
                        image=scope.image,
                    )  # fmt: skip
                )
        return rows


class InterfaceAddressRow(Row, frozen=True, kw_only=True):
    """osquery interface_addresses."""

    interface: str
    address: str
    mask: str
    type: str


def local_ipv4(fib_trie: str) -> list[str]:
    """The namespace's own IPv4 addresses: /32 host LOCAL leaves of /proc/net/fib_trie."""
    found: list[str] = []
    previous = ""
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|--"):
            previous = text[3:].strip()
        elif text == "/32 host LOCAL" and previous and previous not in found:
            found.append(previous)
    return found


@table
class InterfaceAddresses(InventoryTable):
    """IPv4 addresses (each matched to its interface by the routes) and IPv6 addresses."""

    name = "interface_addresses"
    row = InterfaceAddressRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per address."""
        routes = [
            (ipaddress.IPv4Network(f"{d}/{m}"), i)
            for i, d, _, m, *_ in ipv4_routes(_read(scope, "route"))
        ]
        rows: list[Row] = []
        for address in local_ipv4(_read(scope, "fib_trie")):
            ip = ipaddress.IPv4Address(address)
            matches = sorted(
                ((n.prefixlen, i, n) for n, i in routes if ip in n and n.prefixlen > 0),
                reverse=True,
            )
            iface, mask = ("lo", "255.0.0.0") if ip.is_loopback else ("", "")
            if matches:
                iface, mask = matches[0][1], str(matches[0][2].netmask)
            rows.append(self._row(scope, iface, address, mask))
        for line in _read(scope, "if_inet6").splitlines():
            f = line.split()
            if len(f) >= 6:
                address = str(ipaddress.IPv6Address(bytes.fromhex(f[0])))
                prefix = int(f[2], 16)
                mask = str(ipaddress.IPv6Network(f"::/{prefix}").netmask)
                rows.append(self._row(scope, f[5], address, mask))
        return rows

    @staticmethod
    def _row(scope: Scope, interface: str, address: str, mask: str) -> InterfaceAddressRow:
        return InterfaceAddressRow(
            interface=interface,
            address=address,
            mask=mask,
            type="",
            container=scope.container,
            image=scope.image,
        )


class InterfaceDetailsRow(Row, frozen=True, kw_only=True):
    """osquery interface_details."""

    interface: str
    mac: str
    type: int
    mtu: int
    flags: int


@table
class InterfaceDetails(InventoryTable):
    """Links of the scope's /sys/class/net: MAC, type, MTU, flags."""

    name = "interface_details"
    row = InterfaceDetailsRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per interface."""
        rows: list[Row] = []
        for link in sorted(scope.path("/sys/class/net").glob("*")):

            def attr(name: str, link: Path = link) -> str:
                return scope.read(f"/sys/class/net/{link.name}/{name}").strip()

            rows.append(
                InterfaceDetailsRow(
                    interface=link.name,
                    mac=attr("address"),
                    type=int(attr("type") or 0),
                    mtu=int(attr("mtu") or 0),
                    flags=int(attr("flags") or "0", 16),
                    container=scope.container,
                    image=scope.image,
                )
            )
        return rows
