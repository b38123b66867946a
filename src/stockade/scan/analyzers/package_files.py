"""Each package's files with the digests its package database records (for SBOMs).

dpkg lists an MD5 per file (`var/lib/dpkg/info/<name>[:<arch>].md5sums`); a wheel's
RECORD a SHA-256 (urlsafe base64, given here in hex). Read only when a scan asks for
package files (`ScanOptions.package_files`, set when a CycloneDX SBOM is written); the
applier gives each package the list filed under its `files_key`.
"""

from __future__ import annotations

import posixpath

from stockade.model.inventory import Ecosystem, Package, PackageFile
from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.files import FileInfo

DPKG_INFO = "var/lib/dpkg/info/"
DPKG_STATUS = "var/lib/dpkg/status"
CONFFILES = "|conffiles"  # suffix of the key the status file's Conffiles are filed under
DPKG_STATUS_D = "var/lib/dpkg/status.d/"
_HEX = frozenset("0123456789abcdef")


def files_key(package: Package) -> str:
    """Where a package's files are filed: Debian by name, Python by its .dist-info dir."""
    if package.ecosystem is Ecosystem.DEBIAN:
        return f"deb:{package.name}"
    if package.ecosystem is Ecosystem.PYPI and package.path.endswith(".dist-info/METADATA"):
        return f"pypi:{posixpath.dirname(package.path)}"
    return ""


def parse_md5sums(text: str) -> list[PackageFile]:
    """The lines "<md5>  <path>" of a dpkg md5sums file, paths made absolute."""
    files = []
    for line in text.splitlines():
        digest, _, path = line.partition("  ")
        digest = digest.strip().lower()
        if len(digest) == 32 and set(digest) <= _HEX and path.strip():
            files.append(PackageFile(path="/" + path.strip().lstrip("/"), md5=digest))
    return files


def parse_conffiles(status: str) -> dict[str, list[PackageFile]]:
    """The Conffiles of each package in a dpkg status file (md5sums leaves them out)."""
    from stockade.scan.analyzers.dpkg import paragraphs

    found = {}
    for fields in paragraphs(status):
        files = []
        for line in fields.get("Conffiles", "").splitlines():
            parts = line.split()
            if len(parts) >= 2 and len(parts[1]) == 32 and set(parts[1]) <= _HEX:
                files.append(PackageFile(path=parts[0], md5=parts[1]))
        if files and fields.get("Package"):
            found[f"deb:{fields['Package']}{CONFFILES}"] = files
    return found


def parse_record(text: str, site_dir: str) -> list[PackageFile]:
    """The rows "path,sha256=<urlsafe b64>,size" of a RECORD, under `site_dir`."""
    import base64  # here: every scan registers this analyzer, only SBOM scans read RECORDs
    import binascii
    import csv
    import io

    files = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        path = posixpath.normpath(posixpath.join("/" + site_dir, row[0]))
        algorithm, _, value = (row[1] if len(row) > 1 else "").partition("=")
        sha256 = ""
        if algorithm == "sha256" and value:
            try:
                sha256 = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
            except (binascii.Error, ValueError):
                sha256 = ""
        files.append(PackageFile(path=path, sha256=sha256))
    return files


class _PackageFilesAnalyzer(Analyzer):
    """Read only when a scan wants the packages' files."""

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """Only when the scan lists package files (an SBOM is being written)."""
        return options.package_files


@register
class DpkgFilesAnalyzer(_PackageFilesAnalyzer):
    """dpkg's md5sums files: each Debian package's files and their MD5."""

    id = "dpkg-files"
    ecosystems = frozenset({Ecosystem.DEBIAN})

    def required(self, info: FileInfo) -> bool:
        """var/lib/dpkg/info/*.md5sums (status.d/*.md5sums in distroless images), and the
        status file for the configuration files md5sums leaves out."""
        if info.path == DPKG_STATUS:
            return True
        return info.name.endswith(".md5sums") and info.path.startswith((DPKG_INFO, DPKG_STATUS_D))

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The package's files, filed under its name (an ":arch" suffix dropped)."""
        if info.path == DPKG_STATUS:
            conffiles = parse_conffiles(content.decode("utf-8", "replace"))
            return FileAnalysis(package_files=conffiles) if conffiles else None
        name = info.name.removesuffix(".md5sums").split(":", 1)[0]
        files = parse_md5sums(content.decode("utf-8", "replace"))
        return FileAnalysis(package_files={f"deb:{name}": files}) if files else None


@register
class PythonRecordAnalyzer(_PackageFilesAnalyzer):
    """A wheel's RECORD: each installed file of a Python distribution with its SHA-256."""

    id = "python-record"
    ecosystems = frozenset({Ecosystem.PYPI})

    def required(self, info: FileInfo) -> bool:
        """*.dist-info/RECORD."""
        return info.path.endswith(".dist-info/RECORD")

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The distribution's files, filed under its .dist-info directory."""
        dist_info = posixpath.dirname(info.path)
        files = parse_record(content.decode("utf-8", "replace"), posixpath.dirname(dist_info))
        return FileAnalysis(package_files={f"pypi:{dist_info}": files}) if files else None
