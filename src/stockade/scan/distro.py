"""Stamp packages with the distribution (OS packages' distro field) and their purl."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Package
from stockade.scan.analyzers import OSInfo
from stockade.scan.ecosystems import spec_of
from stockade.scan.purl import build_purl


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
    """Packages with their purl; OS packages also with `distro` and a `distro=` qualifier."""
    key = distro_id(os_info) if os_info else ""
    family = os_info.family if os_info else ""
    qualifier = f"{os_info.family}-{os_info.name}" if os_info else ""
    stamped = []
    for package in packages:
        if spec_of(package.ecosystem).os_packages and os_info:
            package = msgspec.structs.replace(package, distro=key)
        purl = build_purl(package, family, qualifier)
        stamped.append(msgspec.structs.replace(package, purl=purl))
    return stamped
