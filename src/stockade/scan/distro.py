"""Stamp OS packages with the distribution they belong to (distro field, purl qualifier)."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers import OSInfo
from stockade.scan.purl import make_purl

OS_ECOSYSTEMS = frozenset({Ecosystem.DEBIAN, Ecosystem.ALPINE, Ecosystem.RPM})


def distro_id(os_info: OSInfo) -> str:
    """The distro key advisories use, e.g. debian:12, alpine:3.20, rhel:9."""
    parts = os_info.name.split(".")
    if os_info.family == "alpine":
        return f"alpine:{'.'.join(parts[:2])}"
    if os_info.family in ("debian", "rhel", "centos", "rocky", "almalinux", "amzn"):
        return f"{os_info.family}:{parts[0]}"
    return f"{os_info.family}:{os_info.name}"


def os_label(os_info: OSInfo | None) -> str:
    """How results name the OS, e.g. "debian 12.15"."""
    return f"{os_info.family} {os_info.name}".strip() if os_info else ""


def with_distro(packages: list[Package], os_info: OSInfo | None) -> list[Package]:
    """OS packages with `distro` set and their purl rebuilt with a `distro=` qualifier."""
    if os_info is None:
        return packages
    key = distro_id(os_info)
    qualifier = f"{os_info.family}-{os_info.name}"
    stamped = []
    for package in packages:
        if package.ecosystem in OS_ECOSYSTEMS:
            has_epoch = ":" in package.version
            epoch, _, plain = (
                package.version.partition(":") if has_epoch else ("", "", package.version)
            )
            purl = make_purl(
                package.ecosystem,
                package.name,
                plain,
                namespace=os_info.family,
                qualifiers={"arch": package.arch, "epoch": epoch, "distro": qualifier},
            )
            package = msgspec.structs.replace(package, distro=key, purl=purl)
        stamped.append(package)
    return stamped
