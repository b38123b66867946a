"""Bounded copies of small text files, kept so that a change can be shown as a diff."""

from __future__ import annotations

import difflib
from collections import OrderedDict

MAX_DIFF_LINES = 200


def text_of(data: bytes) -> str | None:
    """The file's text if it looks like text (UTF-8, no NUL byte), else None."""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class ContentCache:
    """Text of small files by key, least recently stored evicted past a byte budget."""

    def __init__(self, max_file_bytes: int, budget_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.budget_bytes = budget_bytes
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._used = 0

    def get(self, key: str) -> str | None:
        """The kept text, or None."""
        return self._texts.get(key)

    def put(self, key: str, data: bytes | None) -> None:
        """Keep `data` if it is small text; otherwise forget any older copy."""
        self.discard(key)
        text = text_of(data) if data is not None and len(data) <= self.max_file_bytes else None
        if text is None:
            return
        self._texts[key] = text
        self._used += len(text)
        while self._used > self.budget_bytes and self._texts:
            _, dropped = self._texts.popitem(last=False)
            self._used -= len(dropped)

    def discard(self, key: str) -> None:
        """Forget a copy."""
        old = self._texts.pop(key, None)
        if old is not None:
            self._used -= len(old)

    def items(self) -> dict[str, str]:
        """All kept copies (for saving)."""
        return dict(self._texts)


def unified_diff(path: str, before: str | None, after: str | None) -> str:
    """A unified diff of two texts (a missing side counts as empty), at most 200 lines."""
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"a{path}",
            tofile=f"b{path}",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
