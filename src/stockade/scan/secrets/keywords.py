"""Find which rule keywords occur in a file in one pass (YARA's Aho-Corasick matcher)."""

from __future__ import annotations

from typing import Any

import yara


def _yara_text(keyword: bytes) -> str:
    return "".join(chr(b) if chr(b).isalnum() or b == 0x20 else f"\\x{b:02x}" for b in keyword)


class KeywordIndex:
    """All rule keywords compiled together; `present` says which occur (case-insensitively)."""

    def __init__(self, keywords: tuple[bytes, ...]) -> None:
        self._keywords = keywords
        self._rules: Any = None
        if keywords:
            source = "\n".join(
                f'rule k{i} {{ strings: $k = "{_yara_text(k)}" nocase condition: $k }}'
                for i, k in enumerate(keywords)
            )
            self._rules = yara.compile(source=source)

    def present(self, content: bytes) -> set[bytes]:
        """The keywords found in `content`."""
        if self._rules is None:
            return set()
        matches = self._rules.match(data=content, fast=True)
        return {self._keywords[int(m.rule[1:])] for m in matches}
