"""What file integrity monitoring watches and ignores (`FimPolicy`), and its YAML form.

Defaults cover the places attackers persist or replace binaries. The default ignore
patterns are files that normal work rewrites: `ldconfig` rewrites /etc/ld.so.cache after
every library install, shadow-utils keep `passwd-`-style backups and lock files, editors
leave swap files, and systemd/grub rewrite their state files at boot. Package managers'
own writes are not ignored but reported at a low priority (see `fim_alerts`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stockade.errors import StockadeError
from stockade.yaml_marks import yaml_where

DEFAULT_PATHS = (
    "/etc",
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/boot",
    "/root/.ssh",
    "/var/spool/cron",
)
DEFAULT_IGNORE = (
    "/etc/ld.so.cache",
    "/etc/mtab",
    "/etc/adjtime",
    "/etc/machine-id",
    "/etc/.pwd.lock",
    "/etc/*-",  # passwd-, shadow-, group-, gshadow-: shadow-utils' backups
    "/etc/*.lock",
    "/etc/*.dpkg-*",
    "/etc/*.ucf-*",
    "*.swp",
    "*.swx",
    "*~",
    "/boot/grub/grubenv",
    "/etc/cups/subscriptions.conf*",
)


class FimError(StockadeError):
    """A file integrity policy cannot be used."""

    exit_code = 2


@dataclass(frozen=True)
class FimPolicy:
    """Watched path prefixes, ignored glob patterns and the limits on kept content."""

    paths: tuple[str, ...] = DEFAULT_PATHS
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    diff_max_bytes: int = 64 * 1024  # text files up to this size keep a copy for diffs
    content_budget_bytes: int = 32 * 1024 * 1024  # all kept copies together
    rescan_interval_s: float = 3600.0
    containers: bool = True
    _ignore_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in self.ignore) or "(?!)"
        object.__setattr__(self, "_ignore_re", re.compile(joined))

    def ignored(self, path: str) -> bool:
        """True when `path` (as seen inside its host or container) matches an ignore pattern."""
        return self._ignore_re.match(path) is not None

    def watched(self, path: str) -> bool:
        """True when `path` lies under a watched prefix and is not ignored."""
        under = any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)
        return under and not self.ignored(path)


_KEYS = {"paths", "ignore", "diff_max_bytes", "content_budget_bytes", "rescan_interval_s",
         "containers", "extra_ignore"}  # fmt: skip


def load_policy(path: Path) -> FimPolicy:
    """Read a policy file (`paths`, `ignore`, `extra_ignore`, limits); one-line errors."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise FimError(f"{path}: cannot read FIM policy: {str(e).splitlines()[0]}") from e
    except yaml.YAMLError as e:
        where = yaml_where(str(path), e)
        raise FimError(f"{where}: cannot read FIM policy: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict) or set(data) - _KEYS:
        unknown = sorted(set(data) - _KEYS) if isinstance(data, dict) else "not a mapping"
        raise FimError(f"{path}: FIM policy: unknown keys {unknown}; known: {sorted(_KEYS)}")
    try:
        ignore = tuple(data.get("ignore", DEFAULT_IGNORE)) + tuple(data.get("extra_ignore", ()))
        return FimPolicy(
            paths=tuple(data.get("paths", DEFAULT_PATHS)),
            ignore=ignore,
            diff_max_bytes=int(data.get("diff_max_bytes", 64 * 1024)),
            content_budget_bytes=int(data.get("content_budget_bytes", 32 * 1024 * 1024)),
            rescan_interval_s=float(data.get("rescan_interval_s", 3600.0)),
            containers=bool(data.get("containers", True)),
        )
    except (TypeError, ValueError) as e:
        raise FimError(f"{path}: FIM policy: {e}") from e
