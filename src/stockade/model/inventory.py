"""What a scan finds: packages, the layers that brought them, and findings."""

from __future__ import annotations

import enum

import msgspec


class Ecosystem(enum.StrEnum):
    """Package ecosystems, named as OSV names them where OSV has a name."""

    DEBIAN = "Debian"
    ALPINE = "Alpine"
    RPM = "RPM"  # Red Hat family; the distro goes in Package.distro
    PYPI = "PyPI"
    NPM = "npm"
    GO = "Go"
    MAVEN = "Maven"
    RUBYGEMS = "RubyGems"


class Severity(enum.IntEnum):
    """Finding severity, ordered; UNKNOWN sorts lowest."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class LayerRef(msgspec.Struct, frozen=True, kw_only=True):
    """The image layer that brought a thing: its digest and the history line that made it."""

    digest: str = ""  # sha256:... of the layer (diff id where the blob digest is unknown)
    diff_id: str = ""
    created_by: str = ""


class PackageFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file the package database lists for a package, with the digests it records."""

    path: str
    md5: str = ""  # hex, as dpkg's md5sums list it
    sha256: str = ""  # hex (Python's RECORD holds it in urlsafe base64), or of the content read
    sha1: str = ""  # hex, of the content read from the image (no package database has it)


class Package(msgspec.Struct, frozen=True, kw_only=True):
    """An installed package as an analyzer found it."""

    name: str
    version: str
    ecosystem: Ecosystem
    source_name: str = ""  # e.g. Debian source package, used for advisory matching
    source_version: str = ""
    distro: str = ""  # e.g. "debian:12", "alpine:3.20"
    arch: str = ""
    purl: str = ""
    licenses: tuple[str, ...] = ()
    path: str = ""  # file the analyzer read it from
    layer: LayerRef = LayerRef()
    from_lockfile: bool = False  # declared by a lock file (`path`), not found installed
    # Maven: where the groupId was read (pom.properties, repository-path, repository-pom,
    # a manifest attribute, class-package): the last two are inferred, as Syft infers them
    group_source: str = ""
    supplier: str = ""  # who distributes it: Debian's Maintainer, a Python Author, ...
    # what it needs, as its ecosystem states it (`scan/graph.py` resolves these): Debian
    # names with alternatives as "a|b", Python Requires-Dist lines, npm names (or
    # "name@version" pinned by a lock file), Go module paths, Maven "group:artifact"
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()  # virtual names (Debian Provides)
    files: tuple[PackageFile, ...] = ()  # as the package database lists them (SBOM scans)
    id: str = ""  # unique within one scan result: its purl, plus "#path" where that repeats
    depends_on: tuple[str, ...] = ()  # ids of the installed packages it requires


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One problem found by a scan (vulnerability, secret, misconfiguration, malware)."""

    kind: str  # vulnerability | secret | misconfiguration | malware
    id: str  # CVE/GHSA/OSV id, secret rule id, check id, YARA rule name
    severity: Severity
    title: str = ""
    description: str = ""
    target: str = ""  # package name or file path
    installed_version: str = ""
    fixed_version: str = ""
    path: str = ""
    line: int = 0
    match: str = ""  # redacted evidence
    remediation: str = ""
    references: tuple[str, ...] = ()
    cvss_score: float = 0.0
    layer: LayerRef = LayerRef()


class Suppressed(msgspec.Struct, frozen=True, kw_only=True):
    """A finding an ignore rule hid: the finding, the rule's reason and where the rule is."""

    finding: Finding
    statement: str = ""
    source: str = ""  # e.g. ".stockadeignore:3", "vex.json: CVE-2024-1 for pkg:oci/app"
    status: str = "ignored"  # an ignore rule's, or the VEX status (not_affected, fixed)
    justification: str = ""  # VEX justification, e.g. vulnerable_code_not_in_execute_path


class ScanResult(msgspec.Struct, kw_only=True):
    """Everything one scan of one target found."""

    target: str  # the reference scanned, e.g. "oci-archive:app.tar"
    image_digest: str = ""
    image_config_digest: str = ""
    os: str = ""  # e.g. "debian 12"
    layers: list[LayerRef] = msgspec.field(default_factory=list)
    packages: list[Package] = msgspec.field(default_factory=list)
    findings: list[Finding] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    suppressed: list[Suppressed] = msgspec.field(default_factory=list)  # by an ignore file
