"""Macro expansion over condition ASTs, with Falco's visibility rule and size bounds.

A macro's condition sees only macros defined before its last change; a rule sees every
macro. Expanded macro bodies are cached, so identical uses share one subtree. Expanded
conditions are bounded (nodes and macro nesting): macros that double at each level
would otherwise grow a condition past what any step after expansion can walk.
"""

from __future__ import annotations

from collections.abc import Mapping

from stockade.rules import ast
from stockade.rules.errors import ConditionTooLarge, RuleCompileError

EVERYTHING = 1 << 62
MAX_CONDITION_NODES = 10_000
"""Checks and boolean nodes of one expanded condition (Falco's largest rule has ~120)."""
MAX_CONDITION_DEPTH = 100
"""Nested boolean nodes of one expanded condition (Falco's parser allows 100 per text)."""
MAX_MACRO_DEPTH = 64
"""Macros nested in macros while expanding (Falco's own rules nest fewer than ten)."""


class Expander:
    """Replaces macro identifiers by their (expanded) bodies."""

    def __init__(
        self, macros: Mapping[str, ast.Node], order: Mapping[str, tuple[int, int]] | None = None
    ) -> None:
        self.macros = macros
        self.order = order or {}  # name -> (index, visibility)
        self.used_macros: set[str] = set()
        self._cache: dict[str, ast.Node] = {}
        # id of a cached body (kept alive by _cache) -> its (size, depth)
        self._measures: dict[int, tuple[int, int]] = {}
        self._refs: dict[str, frozenset[str]] = {}  # macro -> macros its expansion used

    def expand(self, node: ast.Node, visibility: int = EVERYTHING) -> ast.Node:
        """`node` with every visible macro reference replaced (ConditionTooLarge past bounds)."""
        expanded = self._expand(node, (), visibility)
        _check("condition", self._measure(expanded))
        return expanded

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
        if len(stack) >= MAX_MACRO_DEPTH:
            raise ConditionTooLarge(
                f"macros nest deeper than {MAX_MACRO_DEPTH} levels (through '{name}')", stack[-1]
            )
        self.used_macros.add(name)
        cached = self._cache.get(name)
        if cached is None:
            outer, self.used_macros = self.used_macros, set()
            try:
                cached = self._expand(body, (*stack, name), own_visibility)
            finally:
                self._refs[name] = frozenset(self.used_macros)
                self.used_macros = outer | self.used_macros
            measure = self._measure(cached)
            _check(f"macro '{name}'", measure, name)
            self._cache[name] = cached
            self._measures[id(cached)] = measure
        self.used_macros |= self._refs[name]  # a cached body still uses what it expanded
        return cached

    def prepare(self, name: str) -> None:
        """Expand macro `name` into the cache without counting it (or what it uses) as used."""
        before = set(self.used_macros)
        try:
            self.macro(name)
        finally:
            self.used_macros = before

    def _measure(self, node: ast.Node) -> tuple[int, int]:
        """(nodes, depth) of `node` as a tree (shared subtrees counted each time), without
        walking into cached macro bodies again: linear in the new nodes however shared."""
        known = self._measures.get(id(node))
        if known is not None:
            return known
        children: tuple[ast.Node, ...] = ()
        if isinstance(node, ast.And | ast.Or):
            children = node.children
        elif isinstance(node, ast.Not):
            children = (node.child,)
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = self._measure(child)
            size, depth = size + child_size, max(depth, child_depth)
        return size, depth + 1


def _check(what: str, measure: tuple[int, int], macro: str = "") -> None:
    size, depth = measure
    if size > MAX_CONDITION_NODES:
        raise ConditionTooLarge(
            f"{what} expands to {size} nodes, more than {MAX_CONDITION_NODES}", macro
        )
    if depth > MAX_CONDITION_DEPTH:
        raise ConditionTooLarge(
            f"{what} expands to {depth} nested levels, more than {MAX_CONDITION_DEPTH}", macro
        )
