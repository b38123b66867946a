"""Package URLs (purl) for the packages analyzers find."""

from __future__ import annotations

from packageurl import PackageURL

from stockade.model.inventory import Ecosystem

_TYPES = {
    Ecosystem.DEBIAN: "deb",
    Ecosystem.ALPINE: "apk",
    Ecosystem.RPM: "rpm",
    Ecosystem.PYPI: "pypi",
    Ecosystem.NPM: "npm",
    Ecosystem.GO: "golang",
    Ecosystem.MAVEN: "maven",
    Ecosystem.RUBYGEMS: "gem",
}


def make_purl(
    ecosystem: Ecosystem,
    name: str,
    version: str,
    *,
    namespace: str | None = None,
    qualifiers: dict[str, str] | None = None,
) -> str:
    """The purl of a package; PyPI names are normalized as the purl spec asks."""
    kind = _TYPES[ecosystem]
    if ecosystem is Ecosystem.PYPI:
        name = name.lower().replace("_", "-").replace(".", "-")
    elif ecosystem is Ecosystem.NPM and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    elif ecosystem in (Ecosystem.GO, Ecosystem.MAVEN) and namespace is None:
        separator = ":" if ecosystem is Ecosystem.MAVEN else "/"
        if separator in name:
            namespace, name = name.rsplit(separator, 1)
    quals = {k: v for k, v in (qualifiers or {}).items() if v}
    return str(
        PackageURL(
            type=kind, namespace=namespace, name=name, version=version, qualifiers=quals or None
        ).to_string()
    )
