"""Errors of the rule engine: one base class, a syntax error that knows where it happened."""

from __future__ import annotations

from dataclasses import dataclass

from stockade.errors import USAGE_EXIT, StockadeError


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a condition: 0-based character offset, 1-based line and column."""

    offset: int = 0
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class RulesError(StockadeError):
    """Base class of every error raised by `stockade.rules`."""

    exit_code = USAGE_EXIT  # raised on what the user wrote: rule files, conditions, tests


class RuleSyntaxError(RulesError):
    """A condition does not follow Falco's filter grammar."""

    def __init__(self, message: str, position: Position, text: str = "") -> None:
        super().__init__(f"{message} at {position} (offset {position.offset})")
        self.message = message
        self.position = position
        self.text = text


class RuleCompileError(RulesError):
    """A condition parses but cannot be compiled (unknown field, bad operator or value)."""

    def __init__(self, message: str, code: str = "LOAD_ERR_COMPILE_CONDITION") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ConditionTooLarge(RuleCompileError):
    """An expanded condition passes the engine's bounds (nodes or macro nesting)."""

    def __init__(self, message: str, macro: str = "") -> None:
        super().__init__(message, "LOAD_ERR_CONDITION_TOO_LARGE")
        self.macro = macro  # the macro at fault, when one is
