"""Go modules compiled into binaries, read from the embedded build info (Go 1.18+)."""

from __future__ import annotations

import io
import re

import msgspec

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers import gobuildinfo
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo, RandomAccess, Readable

EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
DEVEL = "(devel)"
# compiled by `re` on first use: every scan imports this module, few meet a Go binary
_SEMVER = r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
_VERSION_PREFIXES = ("main", "common", "version", "cmd")
NOT_IN = "usr/share/"  # where Go binaries never live


def _ldflags_version(module: str, ldflags: str) -> str:
    """The version stamped with `-X pkg.version=...`, ranked as Trivy ranks them:
    `<module>/cmd/...` keys, then main/common/version/cmd packages, then any other;
    "" when none, or when the best rank holds more than one."""
    import shlex  # here: only a Go binary stamped with ldflags needs it

    try:
        words = shlex.split(ldflags)
    except ValueError:
        return ""
    ranks: list[list[str]] = [[], [], []]
    for index, word in enumerate(words):
        if word.startswith("-X="):
            setting = word[3:]
        elif word == "-X" and index + 1 < len(words):
            setting = words[index + 1]
        else:
            continue
        key, _, value = setting.strip("'\"").partition("=")
        if not key.lower().endswith((".version", ".ver")) or not re.match(_SEMVER, value):
            continue
        package = key.rpartition("/")[2].partition(".")[0].lower()
        rank = 0 if key.startswith(module + "/cmd/") else 1 if package in _VERSION_PREFIXES else 2
        ranks[rank].append(value)
    best = next((found for found in ranks if found), [])
    return best[0] if len(best) == 1 else ""


def _unquoted(value: str) -> str:
    """A build setting's value: Go quotes it (strconv.Quote) when it holds spaces or quotes."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        import json  # here: only a quoted build setting needs it

        try:
            decoded = json.loads(value)
        except ValueError:
            return value[1:-1]
        return decoded if isinstance(decoded, str) else value[1:-1]
    return value


def _main_module(lines: list[list[str]]) -> tuple[str, str] | None:
    """(path, version) of the main module: its `mod` line, else the main package's path
    (binaries built outside module mode, as Debian builds them, record only that)."""
    path = mod = version = ldflags = ""
    for parts in lines:
        if parts[0] == "path" and len(parts) >= 2:
            path = parts[1]
        elif parts[0] == "mod" and len(parts) >= 3:
            mod, version = parts[1], parts[2]
        elif parts[0] == "build" and len(parts) >= 2 and parts[1].startswith("-ldflags="):
            ldflags = _unquoted(parts[1][len("-ldflags=") :])
    name = mod or re.sub(r"/cmd/[^/]+$", "", path)
    if not name or "." not in name.partition("/")[0]:
        return None  # the Go toolchain's own commands (cmd/go) are the stdlib
    if version in ("", DEVEL) or (version.startswith("v0.0.0-") and ldflags):
        version = _ldflags_version(name, ldflags) or ("" if version == DEVEL else version)
    return name, version


def parse_modinfo(go_version: str, modinfo: str, path: str) -> list[Package]:
    """The main module, dependencies (replacements applied) and the Go stdlib."""
    lines = [line.split("\t") for line in modinfo.splitlines() if line]
    modules: list[tuple[str, str]] = []
    for parts in lines:
        if parts[0] == "dep" and len(parts) >= 3:
            modules.append((parts[1], parts[2]))
        elif parts[0] == "=>" and len(parts) >= 3 and modules:
            local = parts[1].startswith((".", "/"))  # replaced by a directory: no module
            modules[-1] = (modules[-1][0], "") if local else (parts[1], parts[2])
    main = _main_module(lines)
    if main is not None:
        modules.insert(0, main)
    found = [
        Package(
            name=name,
            version="" if version == DEVEL else version,
            ecosystem=Ecosystem.GO,
            path=path,
        )
        for name, version in modules
        if name
    ]
    if go_version.startswith("go"):
        stdlib_version = "v" + go_version[2:].split()[0]
        found.append(
            Package(name="stdlib", version=stdlib_version, ecosystem=Ecosystem.GO, path=path)
        )
    if main is not None and found and found[0].name == main[0]:
        # build info lists what the binary links, not who needs whom: the main module
        # requires every module (and the stdlib) compiled into it, as Syft records it
        others = tuple(dict.fromkeys(p.name for p in found[1:] if p.name != main[0]))
        found[0] = msgspec.structs.replace(found[0], requires=others)
    return found


@register
class GoBinaryAnalyzer(Analyzer):
    """Build info of Go executables, found by seeking (ELF on disk) or streaming: no size limit."""

    id = "gobinary"
    version = 3
    ecosystems = frozenset({Ecosystem.GO})
    streams = True  # binaries past the scan's file size limit are streamed, never skipped
    seeks = True  # on disk the build info is found by seeking, not by reading the binary

    def required(self, info: FileInfo) -> bool:
        """Executable files, except in places where Go binaries never live."""
        return info.executable and info.size > 1024 and not info.path.startswith(NOT_IN)

    def wants_files_in(self, rel_dir: str) -> bool:
        """Anywhere but under usr/share."""
        return not f"{rel_dir}/".startswith(NOT_IN)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Modules of a Go binary held in memory; None for anything else."""
        if not content.startswith(EXECUTABLE_MAGICS):
            return None
        return _analysis(info, gobuildinfo.from_file(io.BytesIO(content)))

    def analyze_stream(self, info: FileInfo, stream: Readable) -> FileAnalysis | None:
        """Modules of a Go binary too large to hold: seeks on disk, streams in a layer."""
        if isinstance(stream, RandomAccess):
            if not stream.read(4).startswith(EXECUTABLE_MAGICS):
                return None
            return _analysis(info, gobuildinfo.from_file(stream))
        head = stream.read(gobuildinfo.CHUNK)
        if not head.startswith(EXECUTABLE_MAGICS):
            return None
        return _analysis(info, gobuildinfo.from_stream(stream, head))


def _analysis(info: FileInfo, block: bytes | None) -> FileAnalysis | None:
    build = gobuildinfo.decode(block) if block is not None else None
    if build is None:
        return None
    packages = parse_modinfo(build[0], build[1], info.path)
    return FileAnalysis(packages=packages) if packages else None
