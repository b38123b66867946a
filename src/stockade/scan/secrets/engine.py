"""Find secrets in text: keyword pre-filter, regex, allow rules, redaction, line numbers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import re2

from stockade.model.inventory import Finding
from stockade.scan.secrets.keywords import KeywordIndex
from stockade.scan.secrets.rules import RuleSet, SecretRule, load_rules
from stockade.scan.secrets.values import BINARY_SNIFF, line_allows, looks_secret

MAX_MATCH_LINE = 200
MAX_WINDOWS = 4096


class SecretEngine:
    """Scans contents against a RuleSet."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        # each distinct keyword is looked for once per file, then rules pick theirs
        self._keywords = KeywordIndex(tuple(sorted({k for r in ruleset.rules for k in r.keywords})))
        self._path_allows = tuple(a for a in ruleset.allow_rules if a.path_pattern is not None)
        self._text_allows = tuple(a for a in ruleset.allow_rules if a.regex_pattern is not None)
        self._any_path_allow = any_path_matcher(
            [a.path_pattern for a in self._path_allows if a.path_pattern is not None]
        )
        self._every_rule_keyed = all(r.keywords for r in ruleset.rules)

    def path_allowed(self, path: str) -> bool:
        """True when a global allow rule exempts the whole file by its path."""
        if self._any_path_allow is not None:  # asked for nearly every file of an image
            return self._any_path_allow(path)
        return any(a.allows_path(path) for a in self._path_allows)

    def scan(self, path: str, content: bytes) -> list[Finding]:
        """Secret findings in `content` (an empty list for binaries)."""
        if b"\x00" in content[:BINARY_SNIFF]:
            return []
        present = self._keywords.present(content)
        if not present and self._every_rule_keyed:
            return []
        lowered = content.lower()
        found: list[tuple[int, int, SecretRule, Finding]] = []
        # rules sharing keywords (the generic ones share eight) share their windows
        windows_of: dict[tuple[bytes, ...], list[tuple[int, int]] | None] = {}
        for rule in self.ruleset.rules:
            if rule.keywords and present.isdisjoint(rule.keywords):
                continue
            if rule.path is not None and not rule.path.search(path):
                continue
            if any(a.allows_path(path) for a in rule.allow_rules):
                continue
            windows = None
            if not rule.multiline:
                if rule.keywords not in windows_of:
                    windows_of[rule.keywords] = keyword_windows(lowered, rule.keywords)
                windows = windows_of[rule.keywords]
            found.extend(self._matches(rule, path, content, windows))
        return _once_per_secret(found)

    def _matches(
        self, rule: SecretRule, path: str, content: bytes, windows: list[tuple[int, int]] | None
    ) -> list[tuple[int, int, SecretRule, Finding]]:
        found = []
        seen: set[tuple[int, int]] = set()
        spans = windows if windows is not None else [(0, len(content))]
        matches = (m for a, b in spans for m in rule.regex.finditer(content, a, b))
        for match in matches:
            start, end = _span(match, rule.secret_group)
            secret = content[start:end]
            if (start, end) in seen or self._allowed(rule, secret):
                continue
            seen.add((start, end))
            if not looks_secret(secret, rule.entropy, rule.character_classes):
                continue
            if line_allows(content, start):
                continue
            finding = Finding(
                kind="secret",
                id=rule.id,
                severity=rule.severity,
                title=rule.title,
                description=rule.category,
                target=path,
                path=path,
                line=content.count(b"\n", 0, start) + 1,
                match=redacted_line(content, start, end),
            )
            found.append((start, end, rule, finding))
        return found

    def _allowed(self, rule: SecretRule, secret: bytes) -> bool:
        return any(a.allows_secret(secret) for a in (*self._text_allows, *rule.allow_rules))


def _once_per_secret(found: list[tuple[int, int, SecretRule, Finding]]) -> list[Finding]:
    """One finding per secret where rules overlap: the most severe, then a specific rule
    before a generic one (a Google API key assigned to `api_key` is a gcp-api-key)."""
    ranked = sorted(found, key=lambda f: (-f[2].severity, f[2].category == "Generic", f[0]))
    kept: list[tuple[int, int, Finding]] = []
    for start, end, _, finding in ranked:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, finding))
    return [finding for _, _, finding in sorted(kept, key=lambda k: (k[0], k[2].id))]


@functools.cache
def engine_for(config: Path | None) -> SecretEngine:
    """One engine per rules config in a process (compiling the rules is the costly part)."""
    return SecretEngine(load_rules(config))


def one_pattern(patterns: list[str]) -> re.Pattern[str] | None:
    """One regex matching where any of `patterns` matches; None when they cannot be joined.

    Joining is exact only for patterns without groups (no backreference can shift) and with
    the default flags (a global inline flag inside the join is an error); anything else
    keeps the one-by-one search. Only the join is compiled, not each pattern first.
    """
    if not patterns:
        return None
    try:
        joined = re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error:
        return None
    return None if joined.groups or joined.flags != re.UNICODE else joined


def any_path_matcher(patterns: list[str]) -> Callable[[str], bool] | None:
    """A test of whether any of `patterns` matches a path; None when they cannot be joined.

    Asked for nearly every file of a scan: RE2 searches the joined pattern several times
    faster than `re` (it does not retry each alternative at each position); `re` when RE2
    cannot compile it (look-around, backreferences).
    """
    joined = one_pattern(patterns)
    if joined is None:
        return None
    try:
        compiled: Any = re2.compile(joined.pattern, _RE2_OPTIONS)
    except (re2.error, UnicodeEncodeError):
        return lambda path: joined.search(path) is not None

    def matches(path: str) -> bool:
        # bytes spare the binding mapping offsets back to characters; paths that are no
        # valid UTF-8 keep their bytes (surrogateescape), as the file system has them
        return compiled.search(path.encode("utf-8", "surrogateescape")) is not None

    return matches


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True  # only whether it matches is asked
    return options


_RE2_OPTIONS = _re2_options()


def keyword_windows(
    lowered: bytes, keywords: tuple[bytes, ...], limit: int = MAX_WINDOWS
) -> list[tuple[int, int]] | None:
    """Spans (line of a keyword + the next line) to search; None when a full scan is cheaper."""
    if not keywords:
        return None
    starts: list[int] = []
    for keyword in keywords:
        at = lowered.find(keyword)
        while at != -1:
            starts.append(at)
            if len(starts) > limit:
                return None
            at = lowered.find(keyword, at + 1)
    windows: list[tuple[int, int]] = []
    for at in sorted(starts):
        begin = lowered.rfind(b"\n", 0, at) + 1
        end = lowered.find(b"\n", at)
        end = len(lowered) if end == -1 else lowered.find(b"\n", end + 1)
        end = len(lowered) if end == -1 else end
        if windows and begin <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((begin, end))
    return windows


def _span(match: re.Match[bytes], group: str) -> tuple[int, int]:
    if group and group in (match.re.groupindex or {}) and match.start(group) != -1:
        start, end = match.start(group), match.end(group)
    else:
        start, end = match.start(), match.end()
    text = match.string
    while start < end and text[start] in b" \t\r\n":
        start += 1  # a secret spanning lines starts where its first character is
    return start, end


def redacted_line(content: bytes, start: int, end: int) -> str:
    """The first line of a match with the secret itself replaced by asterisks."""
    line_start = content.rfind(b"\n", 0, start) + 1
    line_end = content.find(b"\n", start)
    if line_end == -1:
        line_end = len(content)
    masked_end = min(end, line_end)
    line = content[line_start:start] + b"*" * (masked_end - start) + content[masked_end:line_end]
    text = line.decode("utf-8", "replace").rstrip("\r")
    return text if len(text) <= MAX_MATCH_LINE else text[:MAX_MATCH_LINE] + "..."
