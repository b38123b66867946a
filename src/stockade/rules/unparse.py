"""Condition ASTs back to condition text (for explanations and messages)."""

from __future__ import annotations

import re

from stockade.rules import ast

_BARE = re.compile(r"[^()\"'\s=,]+")


def quote(value: str) -> str:
    """A value as a condition literal: bare when the grammar allows, quoted otherwise."""
    if _BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def unparse(node: ast.Node) -> str:
    """Condition text for `node` (parentheses where precedence needs them)."""
    if isinstance(node, ast.And | ast.Or):
        word = " and " if isinstance(node, ast.And) else " or "
        return word.join(_wrapped(c, node) for c in node.children)
    if isinstance(node, ast.Not):
        return f"not {_wrapped(node.child, node)}"
    if isinstance(node, ast.Const):
        return "true" if node.value else "false"
    if isinstance(node, ast.Identifier):
        return node.name
    if isinstance(node, ast.Value):
        return quote(node.value)
    if isinstance(node, ast.ListValue):
        return "(" + ", ".join(quote(v) for v in node.values) + ")"
    if isinstance(node, ast.TransformerList):
        return "(" + ", ".join(unparse(c) for c in node.children) + ")"
    if isinstance(node, ast.FieldRef):
        return str(node)
    if isinstance(node, ast.Transformer):
        suffix = "" if node.arg is None else f"[{node.arg}]"
        return f"{node.name}({', '.join(unparse(a) for a in node.args)}){suffix}"
    if isinstance(node, ast.UnaryCheck):
        return f"{unparse(node.left)} {node.op}"
    return f"{unparse(node.left)} {node.op} {unparse(node.right)}"


def _wrapped(child: ast.Node, parent: ast.Node) -> str:
    text = unparse(child)
    needs = isinstance(child, ast.Or) or (
        isinstance(parent, ast.Not) and isinstance(child, ast.And)
    )
    return f"({text})" if needs else text
