"""CPE 2.3 names for OS packages and for the OS itself, as SBOMs carry them.

An OS package's CPE follows Syft's first guess (`cpe:2.3:a:NAME:NAME:VERSION:...`):
NVD names no vendor for most Debian binary packages, so this is an identifier for
matching tools, not a claim that NVD lists it. The OS uses NVD's own names.
"""

from __future__ import annotations

import re

from stockade.model.inventory import Package
from stockade.scan.ecosystems import spec_of

_QUOTED = re.compile(r"([^A-Za-z0-9_.\-])")  # CPE 2.3 formatted string: quote the rest
_OS_NAMES = {  # os-release ID -> NVD vendor:product
    "debian": "debian:debian_linux",
    "ubuntu": "canonical:ubuntu_linux",
    "alpine": "alpinelinux:alpine_linux",
    "rhel": "redhat:enterprise_linux",
    "centos": "centos:centos",
    "rocky": "rocky:rocky_linux",
    "almalinux": "almalinux:almalinux",
    "amzn": "amazon:linux",
    "fedora": "fedoraproject:fedora",
}


def _value(text: str) -> str:
    return _QUOTED.sub(r"\\\1", text) if text else "*"


def cpe_name(part: str, vendor: str, product: str, version: str) -> str:
    """A CPE 2.3 formatted string with every other attribute ANY."""
    fields = (_value(vendor), _value(product), _value(version))
    return f"cpe:2.3:{part}:{':'.join(fields)}:*:*:*:*:*:*:*"


def package_cpe(package: Package) -> str:
    """The CPE of an OS package ("" for language packages, whose CPEs NVD names itself)."""
    if not spec_of(package.ecosystem).os_packages or not package.name:
        return ""
    return cpe_name("a", package.name, package.name, package.version)


def os_cpe(family: str, version: str) -> str:
    """The CPE of a distribution release: debian 12.15 -> cpe:2.3:o:debian:debian_linux:12."""
    if not family:
        return ""
    vendor, _, product = _OS_NAMES.get(family, f"{family}:{family}").partition(":")
    major = version.split(".")[0] if family in ("debian", "rhel", "centos", "rocky") else version
    return cpe_name("o", vendor, product, major)
