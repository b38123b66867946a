"""The secret analyzer: which files are worth reading, and what secrets they hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.files import FileInfo
from stockade.scan.options import Scanner
from stockade.scan.secrets.values import BINARY_SNIFF

if TYPE_CHECKING:  # the engine (and its rules) load when a file is first searched
    from stockade.scan.secrets.engine import SecretEngine

SKIP_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".bmp",
        ".ico",
        ".svg",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".doc",
        ".docx",
        ".pdf",
        ".bin",
        ".socket",
        ".deb",
        ".rpm",
        ".apk",
        ".zip",
        ".gz",
        ".gzip",
        ".tgz",
        ".xz",
        ".bz2",
        ".zst",
        ".tar",
        ".jar",
        ".war",
        ".whl",
        ".egg",
        ".pyc",
        ".pyo",
        ".so",
        ".a",
        ".o",
        ".mo",
        ".gmo",
        ".db",
        ".sqlite",
        ".wasm",
        ".mp3",
        ".mp4",
        ".iso",
    }
)
SKIP_FILES = frozenset(
    {
        "go.mod",
        "go.sum",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Pipfile.lock",
        "Gemfile.lock",
    }
)  # lock files are full of integrity hashes that look like keys
SKIP_DIRS = ("node_modules/", ".git/")  # at the top; anywhere below as "/node_modules/"


@register
class SecretAnalyzer(Analyzer):
    """Text files that may hold credentials."""

    id = "secret"
    scanner = Scanner.SECRET
    head_size = BINARY_SNIFF  # binaries are told by their head: never read further

    def __init__(self, options: AnalyzerOptions) -> None:
        self._config = options.secret_config
        self._built: SecretEngine | None = None
        if self._config is not None:  # a user's rules file is checked before a file is read
            self._engine()

    def _engine(self) -> SecretEngine:
        """The rules, compiled when first needed (~5 % of a small tree scan's instructions):
        a tree split in two processes compiles them after the fork, in the process that
        first meets a file to search, while the other walks on."""
        if self._built is None:
            from stockade.scan.secrets.engine import engine_for

            self._built = engine_for(self._config)
        return self._built

    def required(self, info: FileInfo) -> bool:
        """Files that are not obviously binary, skipped or exempt by path."""
        path = info.path
        if info.size == 0 or "/node_modules/" in path or "/.git/" in path:
            return False  # empty, or where only installed code and history live
        if path.startswith(SKIP_DIRS):
            return False
        name = path[path.rfind("/") + 1 :]
        if name in SKIP_FILES:
            return False
        dot = name.rfind(".")
        if dot > 0 and name[dot:].lower() in SKIP_EXTENSIONS:
            return False
        return not self._engine().path_allowed(path)

    def wants_files_in(self, rel_dir: str) -> bool:
        """Not in node_modules or .git, at any depth (as `required` says per file)."""
        within = f"/{rel_dir}/"
        return "/node_modules/" not in within and "/.git/" not in within

    def accepts_head(self, head: bytes) -> bool:
        """Text: no NUL byte where the engine looks for one."""
        return b"\x00" not in head[:BINARY_SNIFF]

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Redacted secret findings."""
        findings = self._engine().scan(info.path, content)
        return FileAnalysis(findings=findings) if findings else None
