"""Descriptor kinds (fd.typechar values) a condition can match, from its fd.type checks.

The sensor drops high-volume I/O calls in the kernel on descriptors no rule can match
(a content rule on network sockets need not see every file write). `None` stands for
"any kind"; as in evttypes.py, `and` intersects, `or` unites, `not` is pushed down to the
checks, and complements are never taken, so the answer is always a superset.
"""

from __future__ import annotations

from stockade.rules import ast
from stockade.rules.evttypes import specialize
from stockade.rules.fields.fd import TYPECHARS

Kinds = frozenset[str] | None
_POSITIVE = frozenset({"=", "==", "in", "= oneof", "== oneof", "= anyof", "intersects"})
_SOCKFAMILY = {"ip": frozenset({"4", "6"}), "unix": frozenset({"u"})}


def _values(right: ast.Node) -> tuple[str, ...] | None:
    if isinstance(right, ast.ListValue):
        return right.values
    if isinstance(right, ast.Value):
        return (right.value,)
    return None


def _as_typechars(field: str, values: tuple[str, ...]) -> frozenset[str] | None:
    """The typechars `field = value` admits, for the fields that name a descriptor kind."""
    if field == "fd.typechar":
        return frozenset(values)
    if field == "fd.type":
        return frozenset(TYPECHARS.get(v, "o") for v in values)
    if field == "fd.sockfamily":
        return frozenset().union(*(_SOCKFAMILY.get(v, frozenset()) for v in values))
    return None


def _check_kinds(node: ast.BinaryCheck, negated: bool) -> Kinds:
    left = node.left
    if not isinstance(left, ast.FieldRef) or left.arg is not None:
        return None
    values = _values(node.right)
    if values is None:
        return None
    kinds = _as_typechars(left.name, values)
    if kinds is None:
        return None
    if node.op in _POSITIVE and not negated:
        return kinds
    if node.op == "!=" and negated:
        return kinds
    return None


def fd_kinds(node: ast.Node, negated: bool = False) -> Kinds:
    """The fd.typechar values `node` can hold for (None: any, descriptor-less events too)."""
    if isinstance(node, ast.Not):
        return fd_kinds(node.child, not negated)
    if isinstance(node, ast.And | ast.Or):
        intersect = isinstance(node, ast.And) != negated
        result: Kinds = None if intersect else frozenset()
        for child in node.children:
            sub = fd_kinds(child, negated)
            if intersect:
                result = sub if result is None else (result if sub is None else result & sub)
            elif result is None or sub is None:
                return None
            else:
                result = result | sub
        return result
    if isinstance(node, ast.Const):
        return frozenset() if node.value == negated else None
    if isinstance(node, ast.BinaryCheck):
        return _check_kinds(node, negated)
    return None


def fd_kinds_for(tree: ast.Node, evt_type: str) -> Kinds:
    """The fd.typechar values a condition can match events of `evt_type` on."""
    return fd_kinds(specialize(tree, evt_type))
