"""Go modules compiled into binaries, read from the embedded build info (Go 1.18+)."""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
FLAG_INLINE_STRINGS = 0x2
EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def read_build_info(binary: bytes) -> tuple[str, str] | None:
    """(Go version, module info text) from a binary; None when absent or pre-1.18."""
    start = binary.find(MAGIC)
    while start != -1 and start % 16:
        start = binary.find(MAGIC, start + 1)
    if start == -1 or len(binary) < start + HEADER_SIZE:
        return None
    if not binary[start + 15] & FLAG_INLINE_STRINGS:
        return None  # pre-1.18 layout keeps pointers into the data segment
    try:
        length, pos = _uvarint(binary, start + HEADER_SIZE)
        version = binary[pos : pos + length].decode("utf-8", "replace")
        length, pos = _uvarint(binary, pos + length)
        modinfo = binary[pos : pos + length]
    except ValueError:
        return None
    if len(modinfo) >= 33 and modinfo[-17:-16] == b"\n":
        modinfo = modinfo[16:-16]  # strip the sentinel blocks around the text
    return version, modinfo.decode("utf-8", "replace")


def parse_modinfo(go_version: str, modinfo: str, path: str) -> list[Package]:
    """The main module, dependencies (replacements applied) and the Go stdlib."""
    modules: list[tuple[str, str]] = []
    for line in modinfo.splitlines():
        parts = line.split("\t")
        if parts[0] in ("mod", "dep") and len(parts) >= 3:
            modules.append((parts[1], parts[2]))
        elif parts[0] == "=>" and len(parts) >= 3 and modules:
            modules[-1] = (parts[1], parts[2])
    found = [
        Package(
            name=name,
            version=version,
            ecosystem=Ecosystem.GO,
            path=path,
        )
        for name, version in modules
        if version and version != "(devel)"
    ]
    if go_version.startswith("go"):
        stdlib_version = "v" + go_version[2:].split()[0]
        found.append(
            Package(
                name="stdlib",
                version=stdlib_version,
                ecosystem=Ecosystem.GO,
                path=path,
            )
        )
    return found


@register
class GoBinaryAnalyzer(Analyzer):
    """Build info of Go executables."""

    id = "gobinary"
    ecosystems = frozenset({Ecosystem.GO})
    max_size = 128 * 1024 * 1024  # Go binaries are often tens of MiB

    def required(self, info: FileInfo) -> bool:
        """Executable files, except in places where Go binaries never live."""
        return info.executable and info.size > 1024 and not info.path.startswith("usr/share/")

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Modules of a Go binary; None for anything else."""
        if not content.startswith(EXECUTABLE_MAGICS):
            return None
        build = read_build_info(content)
        if build is None:
            return None
        packages = parse_modinfo(build[0], build[1], info.path)
        return FileAnalysis(packages=packages) if packages else None
