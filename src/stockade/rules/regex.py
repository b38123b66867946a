"""The `regex` operator: RE2 (linear time in the value's length), whole-value match.

Falco's filter checks compile a `regex` value with RE2 and match it anchored at both
ends; so does this module, so no pattern can make an event cost exponential time however
the value is crafted. RE2's Perl-style syntax is accepted (`\\d`, `(?i)`), which Falco's
POSIX mode refuses: Sigma patterns use it. A pattern RE2 cannot compile (backreferences,
look-around, bad syntax) is a load error.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from stockade.rules.errors import RuleCompileError


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the load error says it; RE2 would also print to stderr
    options.never_capture = True  # only whether it matches is asked: no groups to track
    return options


_OPTIONS = _options()


class Regex:
    """A pattern compiled by RE2, matched against whole values.

    Verdicts for recently seen values are cached: a few command lines and paths make most
    events, and a call into RE2 costs microseconds (linear, but not free).
    """

    __slots__ = ("_compiled", "_verdicts", "pattern")
    CACHE_SIZE = 4096
    CACHED_LENGTH = 1024  # longer values are matched each time, not kept

    def __init__(self, pattern: str) -> None:
        try:
            self._compiled: Any = re2.compile(pattern, _OPTIONS)
        except re2.error as e:
            reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
            raise RuleCompileError(f"invalid regular expression {pattern!r}: {reason}") from None
        except UnicodeEncodeError as e:
            raise RuleCompileError(f"invalid regular expression {pattern!r}: {e}") from None
        self.pattern = pattern
        self._verdicts: dict[str, bool] = {}

    def matches(self, value: str) -> bool:
        """True when the pattern matches the whole of `value`."""
        verdict = self._verdicts.get(value)
        if verdict is None:
            # Bytes spare RE2's binding the mapping of byte offsets back to characters.
            verdict = self._compiled.fullmatch(_raw_bytes(value)) is not None
            if len(value) <= self.CACHED_LENGTH:
                if len(self._verdicts) >= self.CACHE_SIZE:
                    self._verdicts.clear()
                self._verdicts[value] = verdict
        return verdict

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _raw_bytes(value: str) -> bytes:
    """The UTF-8 bytes of `value`; those a value decoded with surrogateescape came from
    (lone surrogates kept)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=256)
def _cached(pattern: str) -> Regex | None:
    try:
        return Regex(pattern)
    except RuleCompileError:
        return None


def regex_match(value: str, pattern: str) -> bool:
    """True when `pattern` matches the whole of `value` (False for an invalid pattern)."""
    compiled = _cached(pattern)
    return compiled is not None and compiled.matches(value)
