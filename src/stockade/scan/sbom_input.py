"""Packages read from an existing SBOM (CycloneDX or SPDX JSON), for `stockade scan sbom`.

Reads ours, Syft's and Trivy's: a package is a component (or SPDX package) with a purl;
the OS comes from the `operating-system` component (SPDX: purpose OPERATING-SYSTEM),
else from the OS packages' `distro=` qualifier; the source package of an OS package from
Stockade's or Trivy's properties (SPDX: "built package from: NAME VERSION") or Syft's
`upstream=` qualifier, so Debian advisories, filed by source package, match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from packageurl import PackageURL

from stockade.model.inventory import Ecosystem, LayerRef, Package
from stockade.scan.analyzers import OSInfo
from stockade.scan.ecosystems import ECOSYSTEMS
from stockade.scan.errors import ScanError

_BY_PURL_TYPE = {spec.purl_type: ecosystem for ecosystem, spec in ECOSYSTEMS.items()}
_BUILT_FROM = re.compile(r"built package from:\s*([^\s;]+)(?:\s+([^\s;]+))?")
_SOURCE_NAME = ("stockade:package:source_name", "aquasecurity:trivy:SrcName")
_LAYER = ("stockade:layer:diff_id", "aquasecurity:trivy:LayerDiffID", "syft:location:0:layerID")


class SbomInputError(ScanError):
    """An SBOM that cannot be read, saying which file and what is wrong."""


@dataclass(slots=True)
class SbomContents:
    """What an SBOM says: its subject, OS and packages."""

    target: str
    image_digest: str = ""
    os: OSInfo | None = None
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _name(purl: PackageURL, ecosystem: Ecosystem) -> str:
    separator = ECOSYSTEMS[ecosystem].namespace_separator
    if purl.namespace and separator:
        return f"{purl.namespace}{separator}{purl.name}"
    return purl.name


def package_from_purl(
    text: str, version: str, source: tuple[str, str] = ("", ""), layer: str = ""
) -> Package | None:
    """A Package from its purl and the version the SBOM states (None: no ecosystem we match)."""
    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    ecosystem = _BY_PURL_TYPE.get(purl.type)
    if ecosystem is None:
        return None
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    if not version:
        version = purl.version or ""
        if qualifiers.get("epoch"):
            version = f"{qualifiers['epoch']}:{version}"
    source_name, source_version = source
    upstream = qualifiers.get("upstream", "")  # Syft: "util-linux@2.38.1-5" or a name
    if not source_name and upstream:
        source_name, _, source_version = upstream.partition("@")
    os_packages = ECOSYSTEMS[ecosystem].os_packages
    return Package(
        name=_name(purl, ecosystem),
        version=version,
        ecosystem=ecosystem,
        source_name=source_name if os_packages else "",
        source_version=(source_version or version) if os_packages and source_name else "",
        arch=qualifiers.get("arch", ""),
        purl="",  # rebuilt for the distro the SBOM names
        layer=LayerRef(diff_id=layer) if layer else LayerRef(),
    )


def _os_from_purls(packages: list[tuple[Package, str]]) -> OSInfo | None:
    """The distro of the OS packages' `distro=` qualifier (Syft: "debian-12")."""
    for package, text in packages:
        if ECOSYSTEMS[package.ecosystem].os_packages:
            qualifiers = PackageURL.from_string(text).qualifiers
            distro = qualifiers.get("distro", "") if isinstance(qualifiers, dict) else ""
            family, _, version = distro.partition("-")
            if family and version:
                return OSInfo(family=family, name=version)
    return None


def _properties(component: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in component.get("properties") or []:
        if isinstance(prop, dict):
            found.setdefault(_text(prop.get("name")), _text(prop.get("value")))
    return found


def _trivy_source_version(props: dict[str, str]) -> str:
    version = props.get("aquasecurity:trivy:SrcVersion", "")
    if props.get("aquasecurity:trivy:SrcRelease"):
        version = f"{version}-{props['aquasecurity:trivy:SrcRelease']}"
    if props.get("aquasecurity:trivy:SrcEpoch", "0") not in ("", "0"):
        version = f"{props['aquasecurity:trivy:SrcEpoch']}:{version}"
    return version


def _cyclonedx(doc: dict[str, Any], path: Path) -> SbomContents:
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    subject = metadata.get("component") if isinstance(metadata, dict) else None
    subject = subject if isinstance(subject, dict) else {}
    contents = SbomContents(target=_text(subject.get("name")) or str(path))
    if _text(subject.get("version")).startswith("sha256:"):
        contents.image_digest = _text(subject.get("version"))
    found: list[tuple[Package, str]] = []
    todo = [c for c in doc.get("components") or [] if isinstance(c, dict)]
    while todo:
        component = todo.pop(0)
        todo += [c for c in component.get("components") or [] if isinstance(c, dict)]
        kind, purl = _text(component.get("type")), _text(component.get("purl"))
        if kind == "operating-system" and _text(component.get("name")):
            contents.os = OSInfo(
                family=_text(component.get("name")).lower(), name=_text(component.get("version"))
            )
        if not purl or kind in ("file", "operating-system", "container"):
            continue
        props = _properties(component)
        name = next((props[k] for k in _SOURCE_NAME if props.get(k)), "")
        version = props.get("stockade:package:source_version") or _trivy_source_version(props)
        layer = next((props[k] for k in _LAYER if props.get(k)), "")
        package = package_from_purl(purl, _text(component.get("version")), (name, version), layer)
        if package is not None:
            found.append((package, purl))
    contents.packages = [p for p, _ in found]
    contents.os = contents.os or _os_from_purls(found)
    return contents


def _spdx(doc: dict[str, Any], path: Path) -> SbomContents:
    contents = SbomContents(target=_text(doc.get("name")) or str(path))
    found: list[tuple[Package, str]] = []
    for element in doc.get("packages") or []:
        if not isinstance(element, dict):
            continue
        if _text(element.get("primaryPackagePurpose")) == "OPERATING-SYSTEM":
            contents.os = OSInfo(
                family=_text(element.get("name")).lower(), name=_text(element.get("versionInfo"))
            )
            continue
        refs = [r for r in element.get("externalRefs") or [] if isinstance(r, dict)]
        purl = next(
            (_text(r.get("referenceLocator")) for r in refs if r.get("referenceType") == "purl"), ""
        )
        if not purl:
            continue
        built = _BUILT_FROM.search(_text(element.get("sourceInfo")))
        source = (built.group(1), built.group(2) or "") if built else ("", "")
        package = package_from_purl(purl, _text(element.get("versionInfo")), source)
        if package is not None:
            found.append((package, purl))
    contents.packages = [p for p, _ in found]
    contents.os = contents.os or _os_from_purls(found)
    return contents


def read_sbom(path: Path) -> SbomContents:
    """The packages and OS of a CycloneDX or SPDX JSON document; SbomInputError if neither."""
    try:
        doc = msgspec.json.decode(path.read_bytes())
    except OSError as e:
        raise SbomInputError(f"cannot read SBOM {path}: {e.strerror}") from e
    except msgspec.DecodeError as e:
        raise SbomInputError(
            f"{path}: not valid JSON ({e}); CycloneDX or SPDX JSON expected"
        ) from e
    if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        contents = _cyclonedx(doc, path)
    elif isinstance(doc, dict) and _text(doc.get("spdxVersion")).startswith("SPDX-"):
        contents = _spdx(doc, path)
    else:
        raise SbomInputError(
            f"{path}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON; "
            "tag-value SPDX is not read"
        )
    if not contents.packages:
        contents.warnings.append(f"{path}: the SBOM lists no package with a purl we can match")
    return contents
