"""The sha256 of every executable file in an image, for the agent's drift check.

Only when a scan asks for it (`AnalyzerOptions.executables`: the agent's own image
scans), whichever scanners run: with none, a scan lists the executables alone (the
agent's pass over an image scanned elsewhere). A file counts when any execute bit is
set: the kernel runs no other. The content is hashed as the walk reads the layer anyway,
so the cost is one sha256 pass over the executables, nothing over the rest of the image.
"""

from __future__ import annotations

from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.files import FileInfo, Readable

_CHUNK = 1024 * 1024


@register
class ExecutableDigestAnalyzer(Analyzer):
    """Records each executable file's sha256 (`FileAnalysis.sha256`)."""

    id = "executables"
    by_option = True  # not part of any scanner: the agent's drift check asks for it
    streams = True  # a binary past the scan's file size limit is hashed as it streams by

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """Only when the scan lists executables' digests."""
        return options.executables

    def required(self, info: FileInfo) -> bool:
        """Every regular file with an execute bit."""
        return info.executable

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The digest of the whole content."""
        import hashlib  # OpenSSL loads only when a scan hashes executables

        del info
        return FileAnalysis(sha256="sha256:" + hashlib.sha256(content).hexdigest())

    def analyze_stream(self, info: FileInfo, stream: Readable) -> FileAnalysis | None:
        """The digest, read in chunks."""
        import hashlib

        del info
        digest = hashlib.sha256()
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
        return FileAnalysis(sha256="sha256:" + digest.hexdigest())
