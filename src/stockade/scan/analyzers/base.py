"""The analyzer interface: one small class per kind of file, registered by id."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, TypeVar

import msgspec

from stockade.model.inventory import Ecosystem, Finding, Package, PackageFile
from stockade.registry import Registry
from stockade.scan.errors import ScanError
from stockade.scan.files import FileInfo, Readable
from stockade.scan.options import Scanner


class OSInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The distribution an image is built on."""

    family: str  # debian, ubuntu, alpine, rhel, ...
    name: str  # version as the distro spells it, e.g. "12.15"
    priority: int = 0  # distro-specific files beat os-release


class FileAnalysis(msgspec.Struct, kw_only=True):
    """What analyzers found in one file; the unit the cache stores and the applier merges."""

    packages: list[Package] = msgspec.field(default_factory=list)
    findings: list[Finding] = msgspec.field(default_factory=list)
    os: OSInfo | None = None
    licenses: dict[str, list[str]] = msgspec.field(default_factory=dict)  # package -> ids
    warnings: list[str] = msgspec.field(default_factory=list)  # what was not read, and why
    # files a package database lists, by `package_files.files_key` of their package
    package_files: dict[str, list[PackageFile]] = msgspec.field(default_factory=dict)
    sha256: str = ""  # "sha256:..." of an executable file, when the scan lists them

    def merge(self, other: FileAnalysis) -> None:
        """Add another analyzer's results for the same file."""
        self.packages.extend(other.packages)
        self.findings.extend(other.findings)
        self.licenses.update(other.licenses)
        self.warnings.extend(other.warnings)
        self.package_files.update(other.package_files)
        self.sha256 = self.sha256 or other.sha256
        if other.os is not None and (self.os is None or other.os.priority > self.os.priority):
            self.os = other.os


class SkippedFile(ScanError):
    """An analyzer left a file unread for a reason the scan reports as a warning."""


class AnalyzerOptions(msgspec.Struct, frozen=True):
    """Settings analyzers are built with."""

    yara_rules: Path | None = None
    secret_config: Path | None = None
    lockfiles: bool = False  # lock files' dependencies, marked `from_lockfile`
    # a package.json outside node_modules is a package: the application an image ships (as
    # Trivy and Syft list it); off in filesystem scans, where it is the project scanned
    project_manifests: bool = True
    package_files: bool = False  # list each package's files with their digests (SBOMs)
    executables: bool = False  # hash each executable file (the agent's drift check)


class Analyzer(ABC):
    """Decides from a path whether it wants a file, then turns its content into results."""

    id: ClassVar[str]
    version: ClassVar[int] = 1
    scanner: ClassVar[Scanner] = Scanner.PKG
    # True when its own option (`enabled`) alone chooses it, whichever scanners run
    by_option: ClassVar[bool] = False
    max_size: ClassVar[int] = 0  # largest file it reads; 0 means the scan's max_file_size
    # the package ecosystems it can emit; each has a row in scan/ecosystems.py
    ecosystems: ClassVar[frozenset[Ecosystem]] = frozenset()
    # When either is set, `required` is true only for files of these names or name endings:
    # the scan asks it about those files only (most files then ask a few analyzers)
    file_names: ClassVar[frozenset[str]] = frozenset()
    file_suffixes: ClassVar[tuple[str, ...]] = ()
    # True when it reads files past max_size through `analyze_stream` (bounded memory)
    streams: ClassVar[bool] = False
    # True when, on disk, `analyze_stream` given the open file (seekable) reads less than
    # `analyze` given the whole content, and finds the same
    seeks: ClassVar[bool] = False
    # > 0 when the first `head_size` bytes can rule a file out (`accepts_head`): a walk
    # reads that much first and the rest only if some analyzer still wants the file
    head_size: ClassVar[int] = 0

    def __init__(self, options: AnalyzerOptions) -> None:  # noqa: B027 - most need nothing
        """Most analyzers need no options."""
        del options

    @abstractmethod
    def required(self, info: FileInfo) -> bool:
        """True when this analyzer wants the content of the file `info` describes."""

    @abstractmethod
    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Results for one file; None when it holds nothing of interest."""

    def wants_files_in(self, rel_dir: str) -> bool:
        """False when `required` is false for every file directly in `rel_dir` (relative,
        "" for the top): a walk then does not ask about that directory's files one by one.
        Only asked of analyzers declaring no `file_names` or `file_suffixes`."""
        del rel_dir
        return True

    def analyze_stream(self, info: FileInfo, stream: Readable) -> FileAnalysis | None:
        """Results for a file too large to hold, from a stream (seekable on disk, forward
        in a layer); only called on analyzers that set `streams`."""
        raise NotImplementedError(f"analyzer {self.id} does not read streams")

    def accepts_head(self, head: bytes) -> bool:
        """False when the file's first `head_size` bytes (all of it, if shorter) show that
        `analyze` would find nothing in it; only asked when `head_size` is set."""
        del head
        return True

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """False when this analyzer has nothing to do under `options`."""
        del options
        return True


A = TypeVar("A", bound=type[Analyzer])
ANALYZERS: Registry[type[Analyzer]] = Registry("analyzer")


def register(cls: A) -> A:
    """Class decorator adding an analyzer to the registry under its id."""
    ANALYZERS.register(cls.id, cls)
    return cls
