"""Package URLs for packages whose analyzer left `purl` empty."""

from __future__ import annotations

from packageurl import PackageURL

from stockade.model.inventory import Ecosystem, Package

_TYPES = {
    Ecosystem.PYPI: "pypi",
    Ecosystem.NPM: "npm",
    Ecosystem.GO: "golang",
    Ecosystem.MAVEN: "maven",
    Ecosystem.RUBYGEMS: "gem",
    Ecosystem.DEBIAN: "deb",
    Ecosystem.ALPINE: "apk",
    Ecosystem.RPM: "rpm",
}
_OS_NAMESPACE = {Ecosystem.DEBIAN: "debian", Ecosystem.ALPINE: "alpine"}


def purl_of(package: Package) -> str:
    """`package.purl`, or one built from its ecosystem, name and version."""
    if package.purl:
        return package.purl
    kind = _TYPES[package.ecosystem]
    namespace: str | None = _OS_NAMESPACE.get(package.ecosystem)
    name = package.name
    if package.ecosystem is Ecosystem.PYPI:
        name = name.lower().replace("_", "-")
    elif "/" in name and package.ecosystem in (Ecosystem.NPM, Ecosystem.GO):
        namespace, name = name.rsplit("/", 1)
    elif ":" in name and package.ecosystem is Ecosystem.MAVEN:
        namespace, name = name.split(":", 1)
    qualifiers: dict[str, str] = {}
    if package.arch:
        qualifiers["arch"] = package.arch
    if package.distro:
        qualifiers["distro"] = package.distro.replace(":", "-")
    return PackageURL(
        type=kind, namespace=namespace, name=name, version=package.version, qualifiers=qualifiers
    ).to_string()
