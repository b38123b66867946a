"""Package URLs (purl): the one builder, from the ecosystem table and `packageurl`.

Names are normalised by `packageurl` as the purl spec asks per type: for PyPI lowercased
with "_" as "-" and dots kept (`pkg:pypi/zope.interface`), unlike the PEP 503 key that
advisory lookups use (`zope-interface`).
"""

from __future__ import annotations

from packageurl import PackageURL

from stockade.model.inventory import Package
from stockade.scan.ecosystems import spec_of, split_name


def build_purl(package: Package, os_family: str = "", distro: str = "") -> str:
    """The purl of `package`; OS packages are namespaced by `os_family` and carry `distro`."""
    spec = spec_of(package.ecosystem)
    namespace, name = split_name(package.ecosystem, package.name)
    version = package.version
    qualifiers = {"arch": package.arch}
    if spec.os_packages:
        namespace = os_family or spec.default_namespace
        epoch, colon, plain = version.partition(":")
        if colon and epoch.isdigit():  # the purl version leaves the epoch to a qualifier
            version, qualifiers["epoch"] = plain, epoch
        qualifiers["distro"] = distro
    return PackageURL(
        type=spec.purl_type,
        namespace=namespace or None,
        name=name,
        version=version or None,
        qualifiers={k: v for k, v in qualifiers.items() if v} or None,
    ).to_string()


def purl_of(package: Package) -> str:
    """`package.purl` as the scan set it, else one built from what the package says."""
    if package.purl:
        return package.purl
    family = package.distro.partition(":")[0]
    return build_purl(package, family, package.distro.replace(":", "-"))
