"""What a scan should do: scanners, limits, cache and databases."""

from __future__ import annotations

import enum
from pathlib import Path

import msgspec

from stockade.model.inventory import Severity
from stockade.scan.locations import DEFAULT_CACHE_DIR


class Scanner(enum.StrEnum):
    """The kinds of scanning a run can enable."""

    PKG = "pkg"
    VULN = "vuln"
    SECRET = "secret"
    MISCONFIG = "misconfig"
    MALWARE = "malware"


DEFAULT_SCANNERS = frozenset({Scanner.PKG, Scanner.VULN, Scanner.SECRET, Scanner.MISCONFIG})


class ScanOptions(msgspec.Struct, frozen=True):
    """Options of one scan; every field has a safe default."""

    scanners: frozenset[Scanner] = DEFAULT_SCANNERS
    skip_dirs: tuple[str, ...] = ()
    cache_dir: Path | None = DEFAULT_CACHE_DIR  # None disables the cache
    db_path: Path | None = None
    yara_rules: Path | None = None
    secret_config: Path | None = None
    severities: frozenset[Severity] = frozenset(Severity)
    ignore_unfixed: bool = False
    max_file_size: int = 10 * 1024 * 1024  # files larger than this are never read
    max_layer_size: int = 8 * 1024 * 1024 * 1024  # decompressed bytes per layer
    lockfiles: bool = False  # lock files describe what *would* be installed
    package_files: bool = False  # each package's files and digests (dpkg md5sums, RECORD)
    executables: bool = False  # each executable file's sha256 (`scan_image_executables`)

    def enabled(self, scanner: Scanner) -> bool:
        """True when `scanner` is part of this scan."""
        return scanner in self.scanners
