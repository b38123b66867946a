"""The lexical layer of Falco's condition grammar (libsinsp's lexer rules, as a cursor)."""

from __future__ import annotations

import re

from stockade.rules.errors import Position, RuleSyntaxError
from stockade.rules.escaping import EscapeError, unescape

MAX_DEPTH = 100
SPACE = " \t\n\r\f\v"
RGX_NOT_BLANK = re.compile(f"not[{SPACE}]+")
RGX_IDENTIFIER = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
RGX_FIELD_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+")
RGX_FIELD_ARG_BARE = re.compile(f"[^\\]\\[\"'{SPACE}]+")
RGX_HEX_NUM = re.compile(r"0[xX][0-9a-fA-F]+")
RGX_NUMBER = re.compile(r"[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")
RGX_BARE_STR = re.compile(f"[^()\"'{SPACE}=,]+")
BLANKS = frozenset(" \t\b\r\n")


class Lexer:
    """Falco's lexical rules over a condition: blanks, literals, regexes, quoted strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.idx = 0
        self.line = 1
        self.col = 1
        self.depth = 0
        self.last = ""

    # --- positions and errors -------------------------------------------------------

    def pos(self) -> Position:
        """The cursor position."""
        return Position(self.idx, self.line, self.col)

    def restore(self, pos: Position) -> None:
        """Move the cursor back to `pos`."""
        self.idx, self.line, self.col = pos.offset, pos.line, pos.column

    def error(self, message: str) -> RuleSyntaxError:
        """A syntax error at the cursor."""
        return RuleSyntaxError(message, self.pos(), self.text)

    def advance(self, token: str) -> None:
        """Move the cursor past `token`, counting lines and columns."""
        for ch in token:
            self.col += 1
            if ch in "\r\n":
                self.col = 1
                self.line += 1
        self.idx += len(token)

    def enter(self) -> None:
        """Count one level of recursion; refuse nesting deeper than MAX_DEPTH."""
        self.depth += 1
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded max depth limit of {MAX_DEPTH}")

    # --- lexing ---------------------------------------------------------------------

    def blank(self) -> bool:
        """Skip blanks; True when there were some."""
        start = self.idx
        while self.idx < len(self.text) and self.text[self.idx] in BLANKS:
            self.advance(self.text[self.idx])
        return self.idx > start

    def lit(self, token: str) -> bool:
        """Consume `token` if it comes next."""
        if self.text.startswith(token, self.idx):
            self.last = token
            self.advance(token)
            return True
        return False

    def rgx(self, pattern: re.Pattern[str]) -> bool:
        """Consume a match of `pattern` at the cursor."""
        m = pattern.match(self.text, self.idx)
        if m is None:
            return False
        self.last = m.group(0)
        self.advance(self.last)
        return True

    def lit_any(self, tokens: tuple[str, ...]) -> bool:
        """Consume the first of `tokens` that comes next."""
        return any(self.lit(t) for t in tokens)

    def operator(self, ops: tuple[str, ...]) -> bool:
        """Consume an operator; those ending in a space need a blank after them."""
        for op in ops:
            if not op.endswith(" "):
                if self.lit(op):
                    return True
                continue
            saved, saved_last = self.pos(), self.last
            if self.lit(op.strip()):
                if self.blank():
                    return True
                self.restore(saved)
                self.last = saved_last
        return False

    def quoted(self) -> bool:
        """Consume a quoted string (unescaped into `last`)."""
        if self.idx >= len(self.text) or self.text[self.idx] not in "'\"":
            return False
        delimiter = self.text[self.idx]
        prev = "\\"
        end = self.idx
        while end < len(self.text):
            ch = self.text[end]
            if ch == delimiter and prev != "\\" and end > self.idx:
                raw = self.text[self.idx : end + 1]
                try:
                    value = unescape(raw)
                except EscapeError as e:
                    raise self.error(str(e)) from None
                self.advance(raw)
                self.last = value
                return True
            prev = ch
            end += 1
        return False
