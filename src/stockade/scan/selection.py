"""Which analyzers take a file, and how: read whole, streamed, or over their size limit."""

from __future__ import annotations

import msgspec

from stockade.scan.analyzers import Analyzer
from stockade.scan.files import FileInfo
from stockade.scan.options import Scanner

MAX_EXAMPLES = 3


class Chosen(msgspec.Struct, frozen=True):
    """The analyzers that want one file, split by how they get its content."""

    whole: tuple[Analyzer, ...]  # the content in memory (within their size limit)
    streamed: tuple[Analyzer, ...] = ()  # over their limit but able to read a stream
    too_large: tuple[Analyzer, ...] = ()  # over their limit: not read, reported
    digest: bool = False  # hashed as it is read, whoever reads it (SBOM scans: `digests.py`)

    @property
    def in_memory(self) -> bool:
        """True when some analyzer reads the whole content."""
        return bool(self.whole)

    @property
    def head_size(self) -> int:
        """How many first bytes decide whether the file is read on: 0 unless every
        analyzer reading it whole can rule it out from that head."""
        sizes = [a.head_size for a in self.whole]
        return max(sizes) if sizes and min(sizes) > 0 else 0

    def after_head(self, head: bytes) -> Chosen | None:
        """The analyzers still wanting the file once its head is known; None if none."""
        whole = tuple(a for a in self.whole if a.accepts_head(head))
        if whole == self.whole:
            return self
        if not whole and not self.streamed and not self.too_large and not self.digest:
            return None
        return Chosen(whole, self.streamed, self.too_large, self.digest)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB"


class SkippedFiles(msgspec.Struct):
    """Files analyzers wanted but did not read, turned into warnings once a walk ends.

    A package analyzer's skip loses packages, so each file gets its own warning; the
    others (secrets, YARA) are tallied in one warning per analyzer with a few examples.
    """

    per_file: list[str] = msgspec.field(default_factory=list)
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    examples: dict[str, list[str]] = msgspec.field(default_factory=dict)
    caps: dict[str, int] = msgspec.field(default_factory=dict)

    def add(self, analyzer: Analyzer, cap: int, info: FileInfo) -> None:
        """Record that `analyzer` did not read the file `info` (over its `cap` bytes)."""
        if analyzer.scanner is Scanner.PKG:
            self.per_file.append(
                f"{info.path}: not read by the {analyzer.id} analyzer ({info.size} bytes, "
                f"over its {_mib(cap)} limit): packages in it are not listed"
            )
            return
        self.counts[analyzer.id] = self.counts.get(analyzer.id, 0) + 1
        self.caps[analyzer.id] = cap
        examples = self.examples.setdefault(analyzer.id, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(f"{info.path} ({_mib(info.size)})")

    def warnings(self) -> list[str]:
        """One line per skipped package file, then one per other analyzer."""
        tallied = [
            f"{count} file(s) over the {_mib(self.caps[name])} limit of the {name} analyzer "
            f"were not read, e.g. {', '.join(self.examples[name])}"
            for name, count in sorted(self.counts.items())
        ]
        return [*self.per_file, *tallied]
