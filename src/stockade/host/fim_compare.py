"""Differences between two baselines (pure): which files were added, removed or changed."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from stockade.host.fim_scan import FileState

COMPARED = ("sha256", "uid", "gid", "mode", "size")  # mtime alone changing is not a change


class ChangeKind(enum.StrEnum):
    """How a watched file changed."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file's change, with its state before and after (None where it did not exist)."""

    path: str
    kind: ChangeKind
    before: FileState | None
    after: FileState | None

    @property
    def changed(self) -> tuple[str, ...]:
        """The attributes that differ (all compared ones for an added or removed file)."""
        if self.before is None or self.after is None:
            return COMPARED
        return tuple(k for k in COMPARED if getattr(self.before, k) != getattr(self.after, k))


def change_of(path: str, before: FileState | None, after: FileState | None) -> FileChange | None:
    """The change from `before` to `after`, or None when nothing compared differs."""
    if before is None and after is None:
        return None
    if before is None:
        return FileChange(path, ChangeKind.ADDED, None, after)
    if after is None:
        return FileChange(path, ChangeKind.REMOVED, before, None)
    change = FileChange(path, ChangeKind.MODIFIED, before, after)
    return change if change.changed else None


def compare(before: Mapping[str, FileState], after: Mapping[str, FileState]) -> list[FileChange]:
    """Every change from one baseline to the next, sorted by path."""
    changes = []
    for path in sorted(before.keys() | after.keys()):
        change = change_of(path, before.get(path), after.get(path))
        if change is not None:
            changes.append(change)
    return changes
