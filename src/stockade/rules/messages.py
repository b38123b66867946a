"""Load results: stable error and warning codes (Falco's names) with their positions."""

from __future__ import annotations

from dataclasses import dataclass

ERROR_CODES = frozenset(
    {
        "LOAD_ERR_FILE_READ",
        "LOAD_ERR_YAML_PARSE",
        "LOAD_ERR_YAML_VALIDATE",
        "LOAD_ERR_COMPILE_CONDITION",
        "LOAD_ERR_COMPILE_OUTPUT",
        "LOAD_ERR_VALIDATE",
        "LOAD_ERR_EXTENSION",
        "LOAD_UNKNOWN_FIELD",
        "LOAD_INVALID_MACRO_DEPENDENCY",
        "LOAD_ERR_CONDITION_TOO_LARGE",  # Stockade's: expansion past the engine's bounds
    }
)
WARNING_CODES = frozenset(
    {
        "LOAD_UNKNOWN_SOURCE",
        "LOAD_UNSAFE_NA_CHECK",
        "LOAD_NO_EVTTYPE",
        "LOAD_UNKNOWN_FILTER",
        "LOAD_UNUSED_MACRO",
        "LOAD_UNUSED_LIST",
        "LOAD_UNKNOWN_ITEM",
        "LOAD_DEPRECATED_ITEM",
        "LOAD_WARNING_EXTENSION",
        "LOAD_APPEND_NO_VALUES",
        "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
        "LOAD_INVALID_MACRO_NAME",
        "LOAD_INVALID_LIST_NAME",
        "LOAD_COMPILE_CONDITION",
        "LOAD_UNKNOWN_KEY",
        "LOAD_EVTTYPE_NOT_CAPTURED",  # Stockade's: this host's sensor cannot see the type
    }
)


@dataclass(frozen=True, slots=True)
class LoadMessage:
    """One load error or warning: a stable code, a message and where it was found."""

    code: str
    message: str
    file: str
    line: int
    column: int
    item: str

    def __str__(self) -> str:
        where = f" ({self.item})" if self.item else ""
        return f"{self.file}:{self.line}:{self.column}: {self.code}: {self.message}{where}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an item came from: file name, 1-based line and column, and its description."""

    file: str
    line: int = 1
    column: int = 1
    item: str = ""

    def message(self, code: str, text: str) -> LoadMessage:
        """A LoadMessage located here."""
        return LoadMessage(code, text, self.file, self.line, self.column, self.item)
