"""The SPDX 2.3 JSON document, built when one is written (spdx-tools is slow to load)."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    get_spdx_licensing,
)
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.extracted_licensing_info import ExtractedLicensingInfo
from spdx_tools.spdx.model.package import ExternalPackageRef, ExternalPackageRefCategory
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream
from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import (
    write_document_to_stream as write_tag_value,
)

import stockade
from stockade.model.inventory import Package, ScanResult
from stockade.scan.output.base import TOOL_NAME, OutputError
from stockade.scan.purl import purl_of

NAMESPACE_BASE = "https://stockade.dev/spdx"
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9.-]+")
_LICENSING = get_spdx_licensing()


def spdx_id(kind: str, n: int, name: str) -> str:
    """An SPDX element id (letters, digits, '.' and '-' only)."""
    return f"SPDXRef-{kind}-{n}-{_UNSAFE_ID.sub('-', name).strip('-')}"


def license_ref(text: str) -> str:
    """The `LicenseRef-` id standing for a licence that is no SPDX expression."""
    return "LicenseRef-" + (_UNSAFE_ID.sub("-", text).strip("-") or "unnamed")


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


def _extracted(refs: dict[str, str]) -> list[ExtractedLicensingInfo]:
    return [
        ExtractedLicensingInfo(license_id=ref, extracted_text=text, license_name=text)
        for ref, text in sorted(refs.items())
    ]


def _package(package: Package, element_id: str, refs: dict[str, str]) -> SpdxPackage:
    return SpdxPackage(
        spdx_id=element_id,
        name=package.name,
        download_location=SpdxNoAssertion(),
        version=package.version or None,
        files_analyzed=False,
        license_declared=_license(package.licenses, refs),
        license_concluded=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        source_info=f"found in {package.path}" if package.path else None,
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl_of(package))
        ],
    )


def spdx_json(result: ScanResult, *, tag_value: bool = False) -> bytes:
    """The SPDX document (JSON, or tag-value): DOCUMENT DESCRIBES image, CONTAINS each package."""
    unique = f"{_UNSAFE_ID.sub('-', result.target)}-{uuid.uuid4()}"
    creation = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=result.target,
        document_namespace=f"{NAMESPACE_BASE}/{unique}",
        creators=[Actor(ActorType.TOOL, f"{TOOL_NAME}-{stockade.__version__}")],
        created=datetime.now(UTC).replace(microsecond=0),
    )
    image = SpdxPackage(
        spdx_id="SPDXRef-Image",
        name=result.target,
        download_location=SpdxNoAssertion(),
        version=result.image_digest or None,
        files_analyzed=False,
    )
    packages = [image]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image.spdx_id)]
    refs: dict[str, str] = {}
    for n, package in enumerate(result.packages):
        element = _package(package, spdx_id("Package", n, package.name), refs)
        packages.append(element)
        relationships.append(
            Relationship(image.spdx_id, RelationshipType.CONTAINS, element.spdx_id)
        )
    document = Document(
        creation,
        packages=packages,
        relationships=relationships,
        extracted_licensing_info=_extracted(refs),
    )
    stream = io.StringIO()
    try:
        # spdx-tools' validation is quadratic in the number of packages (seconds per
        # thousand); the tests validate what this writer produces instead
        if tag_value:
            write_tag_value(document, stream, validate=False)
        else:
            write_document_to_stream(document, stream, validate=False)
    except ValueError as e:
        raise OutputError(f"SPDX document for {result.target} is invalid: {e}") from e
    return stream.getvalue().encode()
