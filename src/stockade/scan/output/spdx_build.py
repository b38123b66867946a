"""The SPDX 2.3 document, built when one is written (spdx-tools is slow to load)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.package import PackagePurpose
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import (
    write_document_to_stream as write_tag_value,
)

import stockade
from stockade.model.inventory import ScanResult
from stockade.scan.graph import with_ids
from stockade.scan.output.base import TOOL_NAME, OutputError
from stockade.scan.output.spdx_files import FileElements, verification_code
from stockade.scan.output.spdx_packages import (
    UNSAFE_ID,
    extracted_licences,
    os_element,
    package_element,
    spdx_id,
)

NAMESPACE_BASE = "https://stockade.dev/spdx"


def _creation(result: ScanResult) -> CreationInfo:
    unique = f"{UNSAFE_ID.sub('-', result.target)}-{uuid.uuid4()}"
    return CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=result.target,
        document_namespace=f"{NAMESPACE_BASE}/{unique}",
        creators=[Actor(ActorType.TOOL, f"{TOOL_NAME}-{stockade.__version__}")],
        created=datetime.now(UTC).replace(microsecond=0),
    )


def spdx_json(result: ScanResult, *, tag_value: bool = False) -> bytes:
    """The SPDX document (JSON, or tag-value): DOCUMENT DESCRIBES the image, which CONTAINS
    the OS and each package; each package DEPENDS_ON the installed packages it requires
    and CONTAINS its files, where the scan hashed them."""
    image = SpdxPackage(
        spdx_id="SPDXRef-Image",
        name=result.target,
        download_location=SpdxNoAssertion(),
        version=result.image_digest or None,
        supplier=SpdxNoAssertion(),
        files_analyzed=False,
        primary_package_purpose=PackagePurpose.CONTAINER,
    )
    elements = [image]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image.spdx_id)]
    operating_system = os_element(result)
    if operating_system is not None:
        elements.append(operating_system)
        relationships.append(
            Relationship(image.spdx_id, RelationshipType.CONTAINS, operating_system.spdx_id)
        )
    packages = result.packages
    if not all(p.id for p in packages):  # a result built by hand rather than by a scan
        packages = with_ids(packages)
    element_ids = {p.id: spdx_id("Package", n, p.name) for n, p in enumerate(packages)}
    refs: dict[str, str] = {}
    files = FileElements()
    for package in packages:
        verification = verification_code(list(package.files))
        element = package_element(package, element_ids[package.id], refs, verification)
        elements.append(element)
        relationships.append(
            Relationship(image.spdx_id, RelationshipType.CONTAINS, element.spdx_id)
        )
        if verification is not None:
            files.add_package(element.spdx_id, package.files)
    relationships += [
        Relationship(element_ids[p.id], RelationshipType.DEPENDS_ON, element_ids[dependency])
        for p in packages
        for dependency in p.depends_on
        if dependency in element_ids
    ]
    document = Document(
        _creation(result),
        packages=elements,
        relationships=relationships,
        extracted_licensing_info=extracted_licences(refs),
    )
    try:
        return _tag_value(document, files) if tag_value else _json(document, files)
    except ValueError as e:
        raise OutputError(f"SPDX document for {result.target} is invalid: {e}") from e


# spdx-tools' validation is quadratic in the number of elements (seconds per thousand)
# and its de-duplication copies the whole document: the tests validate what this writer
# produces instead, and it makes no duplicates


def _json(document: Document, files: FileElements) -> bytes:
    """JSON: the library's for the document, the files added as JSON (see FileElements)."""
    converted: dict[str, Any] = DocumentConverter().convert(document)  # type: ignore[no-untyped-call]
    if files.files:
        converted["files"] = files.json_files()
        converted["relationships"] = converted.get("relationships", []) + files.json_relationships()
    return msgspec.json.format(msgspec.json.encode(converted), indent=4)


def _tag_value(document: Document, files: FileElements) -> bytes:
    document.files, contains = files.elements()
    document.relationships += contains
    stream = io.StringIO()
    write_tag_value(document, stream, validate=False, drop_duplicates=False)
    return stream.getvalue().encode()
