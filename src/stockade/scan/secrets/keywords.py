"""Find which rule keywords occur in a file in one pass (YARA's Aho-Corasick matcher)."""

from __future__ import annotations

from typing import Any

# Compiling the keywords into one YARA matcher costs about as much as looking for each
# keyword in turn through this many bytes: a scan that reads few text files (a project's
# own files beside its node_modules, say) never compiles it
COMPILE_AFTER_BYTES = 128 * 1024


def _yara_text(keyword: bytes) -> str:
    return "".join(chr(b) if chr(b).isalnum() or b == 0x20 else f"\\x{b:02x}" for b in keyword)


class KeywordIndex:
    """All rule keywords, matched together; `present` says which occur (case-insensitively)."""

    def __init__(self, keywords: tuple[bytes, ...]) -> None:
        self._keywords = keywords
        self._rules: Any = None
        self._searched = 0  # bytes searched keyword by keyword so far

    def present(self, content: bytes) -> set[bytes]:
        """The keywords found in `content`."""
        if not self._keywords:
            return set()
        if self._rules is None and self._searched + len(content) <= COMPILE_AFTER_BYTES:
            self._searched += len(content)
            lowered = content.lower()  # keywords are lower case; YARA's nocase is ASCII too
            return {k for k in self._keywords if k in lowered}
        matches = self._compiled().match(data=content, fast=True)
        return {self._keywords[int(m.rule[1:])] for m in matches}

    def _compiled(self) -> Any:
        if self._rules is None:
            import yara  # loaded with the first file worth it

            source = "\n".join(
                f'rule k{i} {{ strings: $k = "{_yara_text(k)}" nocase condition: $k }}'
                for i, k in enumerate(self._keywords)
            )
            self._rules = yara.compile(source=source)
        return self._rules
