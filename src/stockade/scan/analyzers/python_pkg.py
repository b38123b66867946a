"""Python distributions: *.dist-info/METADATA and *.egg-info/PKG-INFO."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo
from stockade.scan.licenses import from_classifier, spdx_or_name

if TYPE_CHECKING:  # the email package is imported when a METADATA file is met
    from email.message import Message


def _header(meta: Message, name: str) -> str:
    """A header's text; bytes that are not ASCII make `email` return a Header object."""
    return str(meta.get(name) or "").strip()


def licenses_of(meta: Message) -> tuple[str, ...]:
    """Declared licences, as SPDX ids where the name is certain: License-Expression, else
    the License field when it is a name (not a licence text), else the licence classifiers."""
    expression = _header(meta, "License-Expression")
    if expression:
        return (expression,)
    declared = _header(meta, "License")
    if declared and declared.upper() != "UNKNOWN" and "\n" not in declared and len(declared) < 80:
        return (spdx_or_name(declared),)
    classified = (from_classifier(c) for c in meta.get_all("Classifier") or [])
    return tuple(dict.fromkeys(c for c in classified if c))


def supplier_of(meta: Message) -> str:
    """Who distributes it: Author (with Author-email), else Maintainer, else the e-mails."""
    for name, email in (("Author", "Author-email"), ("Maintainer", "Maintainer-email")):
        who, address = _header(meta, name), _header(meta, email)
        if who.upper() == "UNKNOWN":
            who = ""
        if address.upper() == "UNKNOWN":
            address = ""
        if who and address and "<" not in address:
            return f"{who} <{address}>"
        if who or address:
            return who or address
    return ""


@register
class PythonPackageAnalyzer(Analyzer):
    """Installed Python distributions (wheels and eggs)."""

    id = "python-pkg"
    version = 3
    ecosystems = frozenset({Ecosystem.PYPI})

    file_names = frozenset({"METADATA", "PKG-INFO"})
    file_suffixes = (".egg-info",)

    def required(self, info: FileInfo) -> bool:
        """METADATA in a .dist-info dir, PKG-INFO in (or as) an .egg-info."""
        path = info.path
        return (
            path.endswith(".dist-info/METADATA")
            or path.endswith(".egg-info/PKG-INFO")
            or path.endswith(".egg-info")
        )

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """One Package from the metadata headers."""
        from email.parser import BytesHeaderParser

        meta = BytesHeaderParser().parsebytes(content)
        name, version = _header(meta, "Name"), _header(meta, "Version")
        if not name or not version:
            return None
        package = Package(
            name=name,
            version=version,
            ecosystem=Ecosystem.PYPI,
            licenses=licenses_of(meta),
            path=info.path,
            supplier=supplier_of(meta),
            requires=tuple(t for r in meta.get_all("Requires-Dist") or [] if (t := str(r).strip())),
        )
        return FileAnalysis(packages=[package])
