"""Unescaping of quoted strings in conditions, following libsinsp's rules."""

from __future__ import annotations

from stockade.rules.errors import RulesError

_HEX = frozenset("0123456789abcdefABCDEF")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", " ": "\\", "\\": "\\", "/": "/"}


class EscapeError(RulesError, ValueError):
    """A quoted string holds an escape sequence Falco does not accept."""


def unescape(quoted: str) -> str:
    """Strip the quotes of `quoted` and resolve its escape sequences."""
    delimiter = quoted[0]
    body = quoted[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        i += 1
        if ch != "\\":
            out.append(ch)
            continue
        if i >= len(body):
            break  # a trailing lone backslash is dropped, as libsinsp does
        esc = body[i]
        i += 1
        if esc in _SIMPLE:
            out.append(_SIMPLE[esc])
        elif esc in "\"'":
            if esc != delimiter:
                raise EscapeError(f"invalid \\{esc} escape in {delimiter}-quoted string")
            out.append(esc)
        elif esc == "x":
            digits = body[i : i + 2]
            if len(digits) < 2:
                raise EscapeError("truncated hex char escape sequence")
            if not all(c in _HEX for c in digits):
                raise EscapeError(f"invalid hex char escape sequence: {digits}")
            out.append(chr(int(digits, 16)))
            i += 2
        else:
            raise EscapeError(f"unsupported string escape sequence: \\{esc}")
    return "".join(out)
