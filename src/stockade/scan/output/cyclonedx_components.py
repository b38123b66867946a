"""CycloneDX components: a package (supplier, CPE, layer, its files' hashes) and the OS."""

from __future__ import annotations

from cyclonedx.model import Property
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.spdx import fixup_id, is_expression
from packageurl import PackageURL

from stockade.model.inventory import Package, PackageFile, ScanResult
from stockade.scan.cpe import os_cpe, package_cpe
from stockade.scan.ecosystems import split_name
from stockade.scan.purl import purl_of

FROM_LOCKFILE = "stockade:package:from_lockfile"  # declared by a lock file, not installed
LAYER_DIFF_ID = "stockade:layer:diff_id"  # the layer that brought the package
LAYER_DIGEST = "stockade:layer:digest"
FOUND_IN = "stockade:package:path"  # the file the package was read from
SOURCE_NAME = "stockade:package:source_name"  # the source package an OS package is built from
SOURCE_VERSION = "stockade:package:source_version"
GROUP_SOURCE = "stockade:package:group_source"  # where a Maven groupId was read or inferred
OS_REF = "os"


def _license(text: str, alone: bool = True) -> License:
    """An SPDX id, else an SPDX expression (only as a lone licence), else the name as written."""
    spdx = fixup_id(text)
    if spdx is not None:
        return DisjunctiveLicense(id=spdx)
    if alone and is_expression(text):
        return LicenseExpression(text)
    return DisjunctiveLicense(name=text)


def _properties(package: Package) -> list[Property]:
    built_from = package.source_name and (package.source_name, package.source_version) != (
        package.name,
        package.version,
    )
    values = {
        SOURCE_NAME: package.source_name if built_from else "",
        SOURCE_VERSION: package.source_version if built_from else "",
        FROM_LOCKFILE: "true" if package.from_lockfile else "",
        FOUND_IN: package.path,
        GROUP_SOURCE: package.group_source,
        LAYER_DIFF_ID: package.layer.diff_id,
        LAYER_DIGEST: package.layer.digest if package.layer.digest != package.layer.diff_id else "",
    }
    return [Property(name=name, value=value) for name, value in values.items() if value]


def file_components(owner: str, files: tuple[PackageFile, ...]) -> list[dict[str, object]]:
    """A package's files as CycloneDX `file` components, in JSON form: they are added to
    the library's output, whose per-component cost (12 s for the corpus image's 5,000
    files, against 0.1 s here) is too high for thousands of them."""
    components: list[dict[str, object]] = []
    for file in files:
        hashes = [
            {"alg": alg, "content": value}
            for alg, value in (("MD5", file.md5), ("SHA-1", file.sha1), ("SHA-256", file.sha256))
            if value
        ]
        entry: dict[str, object] = {"bom-ref": f"{owner}#file:{file.path}"}
        if hashes:
            entry["hashes"] = hashes
        components.append(entry | {"name": file.path, "type": "file"})
    return components


def package_component(package: Package, ref: str) -> Component:
    """One package: purl, CPE (OS packages), supplier, licences, layer and its files."""
    group, name = split_name(package.ecosystem, package.name)  # Maven group, npm scope, ...
    supplier = OrganizationalEntity(name=package.supplier) if package.supplier else None
    return Component(
        type=ComponentType.LIBRARY,
        group=group or None,
        name=name,
        version=package.version,
        bom_ref=ref,
        supplier=supplier,
        publisher=package.supplier or None,
        purl=PackageURL.from_string(purl_of(package)),
        cpe=package_cpe(package) or None,
        licenses=[_license(text, len(package.licenses) == 1) for text in package.licenses if text],
        properties=_properties(package),
    )


def os_component(result: ScanResult) -> Component | None:
    """The distribution the image runs, as CycloneDX's `operating-system` component."""
    family, _, version = result.os.partition(" ")
    if not family:
        return None
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=family,
        version=version or None,
        bom_ref=OS_REF,
        cpe=os_cpe(family, version) or None,
        description=result.os,
    )
