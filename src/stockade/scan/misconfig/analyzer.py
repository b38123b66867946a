"""The Dockerfile analyzer: Dockerfiles found inside the scanned image or tree."""

from __future__ import annotations

from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.files import FileInfo
from stockade.scan.options import Scanner

MAX_DOCKERFILE = 1024 * 1024


def is_dockerfile(name: str) -> bool:
    """Dockerfile, Containerfile, Dockerfile.<x>, <x>.Dockerfile."""
    lower = name.lower()
    return (
        lower in ("dockerfile", "containerfile")
        or lower.startswith(("dockerfile.", "containerfile."))
        or lower.endswith((".dockerfile", ".containerfile"))
    )


@register
class DockerfileAnalyzer(Analyzer):
    """Checks Dockerfiles against the misconfiguration checks."""

    id = "dockerfile"
    scanner = Scanner.MISCONFIG

    def __init__(self, options: AnalyzerOptions) -> None:
        del options
        from stockade.scan.misconfig.engine import load_checks  # checks load only when needed

        self._engine = load_checks()

    def required(self, info: FileInfo) -> bool:
        """Files named like Dockerfiles."""
        return info.size <= MAX_DOCKERFILE and is_dockerfile(info.name)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Failed checks with line numbers."""
        from stockade.scan.misconfig.dockerfile import parse_dockerfile

        instructions = parse_dockerfile(content.decode("utf-8", "replace"))
        if not any(i.command == "FROM" for i in instructions):
            return None
        findings = self._engine.dockerfile(info.path, instructions)
        return FileAnalysis(findings=findings) if findings else None
