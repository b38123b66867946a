"""Event types a condition can match, derived from its evt.type checks.

`None` stands for "every type" (the condition does not constrain evt.type). `and`
intersects, `or` unites, and `not` is pushed down to the checks (De Morgan).
"""

from __future__ import annotations

from stockade.model import EventType
from stockade.rules import ast

Types = frozenset[str] | None
UNIVERSE: frozenset[str] = frozenset(t.value for t in EventType)


def _intersect(a: Types, b: Types) -> Types:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _unite(a: Types, b: Types) -> Types:
    if a is None or b is None:
        return None
    return a | b


_POSITIVE = frozenset({"=", "==", "in", "= oneof", "== oneof", "= anyof", "intersects"})


def _type_check(node: ast.BinaryCheck) -> tuple[frozenset[str], bool] | None:
    """(values, positive) for an evt.type check with `=`/`in` (positive) or `!=`."""
    left = node.left
    if not isinstance(left, ast.FieldRef) or left.name not in ("evt.type", "syscall.type"):
        return None
    right = node.right
    if isinstance(right, ast.ListValue):
        values = frozenset(right.values)
    elif isinstance(right, ast.Value):
        values = frozenset({right.value})
    else:
        return None
    if node.op in _POSITIVE:
        return values, True
    if node.op == "!=":
        return values, False
    return None


def _evt_num_invariant(node: ast.BinaryCheck) -> bool | None:
    """evt.num is never 0: True when the check always holds, False when it never does."""
    left, right = node.left, node.right
    if not isinstance(left, ast.FieldRef) or left.name != "evt.num" or left.arg is not None:
        return None
    if node.op == "in" and isinstance(right, ast.ListValue):
        return False if all(v.strip() == "0" for v in right.values) else None
    if not isinstance(right, ast.Value) or not right.value.isdigit():
        return None
    n = int(right.value)
    if {"=": n == 0, "==": n == 0, "<": n <= 1, "<=": n == 0}.get(node.op, False):
        return False
    if {"!=": n == 0, ">": n == 0, ">=": n <= 1}.get(node.op, False):
        return True
    return None


def too_broad(types: Types) -> bool:
    """True when a rule would be judged for most event types (Falco's LOAD_NO_EVTTYPE)."""
    return types is None or len(types) > len(UNIVERSE) // 2


def _check_types(node: ast.BinaryCheck, negated: bool) -> Types:
    """Types a check allows: its values for a positive evt.type check, else every type.

    Complements are not taken: "every type but X" is indexed as every type (the check
    itself still runs), so event types no rule names are never lost.
    """
    invariant = _evt_num_invariant(node)
    if invariant is not None:
        return None if invariant != negated else frozenset()
    found = _type_check(node)
    if found is None:
        return None
    values, positive = found
    return values if positive != negated else None


def event_types(node: ast.Node, negated: bool = False) -> Types:
    """The event types `node` can match (None: every type)."""
    if isinstance(node, ast.Not):
        return event_types(node.child, not negated)
    if isinstance(node, ast.And | ast.Or):
        combine = _intersect if isinstance(node, ast.And) != negated else _unite
        result: Types = None if combine is _intersect else frozenset()
        for child in node.children:
            result = combine(result, event_types(child, negated))
        return result
    if isinstance(node, ast.Const):
        return frozenset() if node.value == negated else None
    if isinstance(node, ast.BinaryCheck):
        return _check_types(node, negated)
    return None


def specialize(node: ast.Node, evt_type: str) -> ast.Node:
    """`node` with its evt.type checks decided for events of type `evt_type`, simplified."""
    if isinstance(node, ast.And | ast.Or):
        is_and = isinstance(node, ast.And)
        kept: list[ast.Node] = []
        for child in node.children:
            sub = specialize(child, evt_type)
            if isinstance(sub, ast.Const):
                if sub.value != is_and:
                    return sub  # False in an and, True in an or decides it
                continue
            kept.append(sub)
        if not kept:
            return ast.Const(is_and, node.pos)
        if len(kept) == 1:
            return kept[0]
        return ast.And(tuple(kept), node.pos) if is_and else ast.Or(tuple(kept), node.pos)
    if isinstance(node, ast.Not):
        sub = specialize(node.child, evt_type)
        return (
            ast.Const(not sub.value, node.pos)
            if isinstance(sub, ast.Const)
            else ast.Not(sub, node.pos)
        )
    if isinstance(node, ast.BinaryCheck):
        found = _type_check(node)
        if found is not None:
            values, positive = found
            return ast.Const((evt_type in values) == positive, node.pos)
    return node
