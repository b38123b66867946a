"""SPDX 2.3 packages: a scanned package (supplier, purl, CPE, layer, licences) and the OS."""

from __future__ import annotations

import re

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    get_spdx_licensing,
)
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.extracted_licensing_info import ExtractedLicensingInfo
from spdx_tools.spdx.model.package import (
    ExternalPackageRef,
    ExternalPackageRefCategory,
    PackagePurpose,
    PackageVerificationCode,
)
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

from stockade.model.inventory import Package, ScanResult
from stockade.scan.cpe import os_cpe, package_cpe
from stockade.scan.purl import purl_of

UNSAFE_ID = re.compile(r"[^A-Za-z0-9.-]+")
OS_ID = "SPDXRef-OperatingSystem"
_LICENSING = get_spdx_licensing()
_CONTACT = re.compile(r"^\s*(.*?)\s*<([^<>@\s]+@[^<>\s]+)>\s*$")
# maintainers that are groups, not people ("Debian GCC Maintainers", "util-linux packagers")
_GROUP_WORDS = re.compile(
    r"\b(team|maintainers|packagers|project|group|developers|foundation|authors|contributors)\b",
    re.IGNORECASE,
)


def spdx_id(kind: str, n: int, name: str) -> str:
    """An SPDX element id (letters, digits, '.' and '-' only)."""
    return f"SPDXRef-{kind}-{n}-{UNSAFE_ID.sub('-', name).strip('-')}"


def license_ref(text: str) -> str:
    """The `LicenseRef-` id standing for a licence that is no SPDX expression."""
    return "LicenseRef-" + (UNSAFE_ID.sub("-", text).strip("-") or "unnamed")


def _term(text: str, refs: dict[str, str]) -> str:
    """One licence as an SPDX expression: itself when valid, else a LicenseRef (kept in
    `refs` with the text it stands for, for the document's extracted licences)."""
    try:
        _LICENSING.parse(text, validate=True, strict=True)
    except ExpressionError:
        ref = license_ref(text)
        refs.setdefault(ref, text)
        return ref
    return f"({text})"


def _license(texts: tuple[str, ...], refs: dict[str, str]) -> object:
    if not texts:
        return SpdxNoAssertion()
    expression = " AND ".join(_term(t, refs) for t in texts)
    try:
        return _LICENSING.parse(expression, validate=False, strict=False)
    except ExpressionError:
        return SpdxNoAssertion()


def extracted_licences(refs: dict[str, str]) -> list[ExtractedLicensingInfo]:
    """The document's extracted licences: each LicenseRef with the text it stands for."""
    return [
        ExtractedLicensingInfo(license_id=ref, extracted_text=text, license_name=text)
        for ref, text in sorted(refs.items())
    ]


def supplier_actor(supplier: str) -> Actor | SpdxNoAssertion:
    """ "Name <email>" as an SPDX actor: an organisation when it names a group, else a person."""
    match = _CONTACT.match(supplier)
    name, email = (match.group(1), match.group(2)) if match else (supplier.strip(), None)
    name = name.replace("(", "[").replace(")", "]") or (email or "")  # tag-value reads "(" as email
    if not name:
        return SpdxNoAssertion()
    kind = ActorType.ORGANIZATION if _GROUP_WORDS.search(name) else ActorType.PERSON
    return Actor(kind, name, email)


def _source_info(package: Package) -> str | None:
    """Where it was found, and (OS packages) its source package in Trivy's words."""
    where = f"found in {package.path}" if package.path else ""
    if package.source_name:
        built = f"built package from: {package.source_name} {package.source_version}".strip()
        where = f"{built}; {where}" if where else built
    if package.layer.diff_id:
        where = f"{where or 'found'} in layer {package.layer.diff_id}"
    if package.from_lockfile:
        where += " (declared by the lock file, not installed)"
    return where or None


def package_element(
    package: Package,
    element_id: str,
    refs: dict[str, str],
    verification: PackageVerificationCode | None = None,
) -> SpdxPackage:
    """One scanned package: supplier, licences, purl and (OS packages) CPE, where found;
    with a `verification` code, its files were analyzed (listed as File elements)."""
    references = [
        ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl_of(package))
    ]
    cpe = package_cpe(package)
    if cpe:
        references.append(ExternalPackageRef(ExternalPackageRefCategory.SECURITY, "cpe23Type", cpe))
    return SpdxPackage(
        spdx_id=element_id,
        name=package.name,
        download_location=SpdxNoAssertion(),
        version=package.version or None,
        supplier=supplier_actor(package.supplier) if package.supplier else SpdxNoAssertion(),
        files_analyzed=verification is not None,
        verification_code=verification,
        license_declared=_license(package.licenses, refs),
        license_concluded=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        source_info=_source_info(package),
        external_references=references,
        primary_package_purpose=PackagePurpose.LIBRARY,
    )


def os_element(result: ScanResult) -> SpdxPackage | None:
    """The distribution the image runs, as a package whose purpose is OPERATING-SYSTEM."""
    family, _, version = result.os.partition(" ")
    if not family:
        return None
    cpe = os_cpe(family, version)
    return SpdxPackage(
        spdx_id=OS_ID,
        name=family,
        download_location=SpdxNoAssertion(),
        version=version or None,
        supplier=SpdxNoAssertion(),
        files_analyzed=False,
        description=result.os,
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.SECURITY, "cpe23Type", cpe)
        ],
        primary_package_purpose=PackagePurpose.OPERATING_SYSTEM,
    )
