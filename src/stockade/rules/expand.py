"""Macro and list expansion over condition ASTs (Falco's collector -> compiler step)."""

from __future__ import annotations

from collections.abc import Mapping

from stockade.rules import ast
from stockade.rules.errors import RuleCompileError


class Expander:
    """Replaces macro identifiers by their bodies and list names by their items."""

    def __init__(
        self, macros: Mapping[str, ast.Node], lists: Mapping[str, tuple[str, ...]]
    ) -> None:
        self.macros = macros
        self.lists = lists
        self.used_macros: set[str] = set()
        self.used_lists: set[str] = set()
        self._cache: dict[str, ast.Node] = {}

    def expand(self, node: ast.Node, stack: tuple[str, ...] = ()) -> ast.Node:
        """`node` with every macro and list reference replaced."""
        if isinstance(node, ast.And):
            return ast.And(tuple(self.expand(c, stack) for c in node.children), node.pos)
        if isinstance(node, ast.Or):
            return ast.Or(tuple(self.expand(c, stack) for c in node.children), node.pos)
        if isinstance(node, ast.Not):
            return ast.Not(self.expand(node.child, stack), node.pos)
        if isinstance(node, ast.Identifier):
            return self.macro(node.name, stack)
        if isinstance(node, ast.BinaryCheck):
            return ast.BinaryCheck(node.left, node.op, self.value(node.right), node.pos)
        return node

    def macro(self, name: str, stack: tuple[str, ...]) -> ast.Node:
        """The expanded body of macro `name`."""
        if name in stack:
            raise RuleCompileError(f"reference loop in macro '{name}'", "LOAD_ERR_VALIDATE")
        body = self.macros.get(name)
        if body is None:
            raise RuleCompileError(f"undefined macro '{name}' used in filter.")
        self.used_macros.add(name)
        cached = self._cache.get(name)
        if cached is None:
            cached = self.expand(body, (*stack, name))
            self._cache[name] = cached
        return cached

    def value(
        self, right: ast.Node
    ) -> ast.Value | ast.ListValue | ast.Identifier | ast.Transformer:
        """A right-hand side with list names replaced by their items."""
        if isinstance(right, ast.ListValue):
            items: list[str] = []
            for v in right.values:
                if v in self.lists:
                    self.used_lists.add(v)
                    items.extend(self.lists[v])
                else:
                    items.append(v)
            return ast.ListValue(tuple(items), right.pos)
        if isinstance(right, ast.Identifier) and right.name in self.lists:
            self.used_lists.add(right.name)
            return ast.ListValue(self.lists[right.name], right.pos)
        assert isinstance(right, ast.Value | ast.ListValue | ast.Identifier | ast.Transformer)
        return right
