"""Where in a user's YAML file a parse error is: line and column, as every loader reports them."""

from __future__ import annotations

import yaml


def yaml_position(error: yaml.YAMLError) -> tuple[int, int] | None:
    """The 1-based (line, column) the error points at; None when it names no place."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def yaml_where(origin: str, error: yaml.YAMLError) -> str:
    """`origin:line:column` for the error, or `origin` alone when it names no place."""
    position = yaml_position(error)
    return f"{origin}:{position[0]}:{position[1]}" if position else origin


def yaml_problem(error: yaml.YAMLError) -> str:
    """What the parser found wrong, in one line (without its quoted context)."""
    return getattr(error, "problem", None) or str(error).splitlines()[0]
