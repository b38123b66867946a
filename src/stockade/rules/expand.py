"""Macro expansion over condition ASTs, with Falco's visibility rule.

A macro's condition sees only macros defined before its last change; a rule sees every
macro. Expanded macro bodies are cached, so identical uses share one subtree.
"""

from __future__ import annotations

from collections.abc import Mapping

from stockade.rules import ast
from stockade.rules.errors import RuleCompileError

EVERYTHING = 1 << 62


class Expander:
    """Replaces macro identifiers by their (expanded) bodies."""

    def __init__(
        self, macros: Mapping[str, ast.Node], order: Mapping[str, tuple[int, int]] | None = None
    ) -> None:
        self.macros = macros
        self.order = order or {}  # name -> (index, visibility)
        self.used_macros: set[str] = set()
        self._cache: dict[str, ast.Node] = {}

    def expand(self, node: ast.Node, visibility: int = EVERYTHING) -> ast.Node:
        """`node` with every visible macro reference replaced."""
        return self._expand(node, (), visibility)

    def _expand(self, node: ast.Node, stack: tuple[str, ...], visibility: int) -> ast.Node:
        if isinstance(node, ast.And):
            return ast.And(
                tuple(self._expand(c, stack, visibility) for c in node.children), node.pos
            )
        if isinstance(node, ast.Or):
            return ast.Or(
                tuple(self._expand(c, stack, visibility) for c in node.children), node.pos
            )
        if isinstance(node, ast.Not):
            return ast.Not(self._expand(node.child, stack, visibility), node.pos)
        if isinstance(node, ast.Identifier):
            return self.macro(node.name, stack, visibility)
        return node

    def macro(
        self, name: str, stack: tuple[str, ...] = (), visibility: int = EVERYTHING
    ) -> ast.Node:
        """The expanded body of macro `name` as seen from `visibility`."""
        body = self.macros.get(name)
        index, own_visibility = self.order.get(name, (0, EVERYTHING))
        if body is None or index >= visibility:
            raise RuleCompileError(f"Undefined macro '{name}' used in filter.", "LOAD_ERR_VALIDATE")
        if name in stack:
            raise RuleCompileError(f"reference loop in macro '{name}'", "LOAD_ERR_VALIDATE")
        self.used_macros.add(name)
        cached = self._cache.get(name)
        if cached is None:
            cached = self._expand(body, (*stack, name), own_visibility)
            self._cache[name] = cached
        return cached
