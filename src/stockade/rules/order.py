"""Order a rule's top-level conjuncts so the cheap, selective checks run first.

Most events match no rule, so what matters is how fast each rule says no. A rule's
top-level `and` holds exactly when every conjunct holds, whatever the order, and the
dispatch function treats an error in any conjunct as "no match" (its try block), so
reordering the top level keeps the result. Nested `and`/`or`/`not` keep their order
(there an error in a skipped operand would change the outcome).

Each conjunct gets an estimated cost and a probability of holding on a typical event;
sorting by cost / (1 - p) puts the checks most likely to reject cheaply first (the
classic order for independent filters). A conjunct shared with other rules (an expanded
macro such as `open_read`) is memoised per event, so its cost counts less; when it comes
first, the dispatch function tests the rules starting with it under one guard.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping

from stockade.rules import ast

FieldCost = Callable[[ast.FieldRef | ast.Transformer], float]
"""The cost of reading one field (an inline attribute read is about 1)."""

COSTLY_FIELDS = frozenset(
    {"evt.arg", "evt.args", "evt.rawarg", "proc.args", "proc.cmdline", "proc.pcmdline"}
    | {"proc.env", "proc.aenv", "proc.acmdline", "proc.duration"}
    | {"thread.cap_effective", "thread.cap_permitted", "thread.cap_inheritable"}
)
"""Fields whose extraction builds text or walks structures (read them last)."""
FEW_VALUES = frozenset(
    {"fd.typechar", "fd.type", "fd.l4proto", "fd.sockfamily", "evt.dir", "evt.type"}
    | {"evt.is_open_read", "evt.is_open_write"}
)
"""Fields with a handful of values, mostly the one an event type implies: often equal."""
_RARE = 0.05  # equality / membership / string match on a typical event
_LIKELY = 0.9  # inequality, existence
_OP_COST = {
    "=": 0.5,
    "==": 0.5,
    "!=": 0.5,
    "in": 0.5,
    "intersects": 1.0,
    "<": 0.5,
    "<=": 0.5,
    ">": 0.5,
    ">=": 0.5,
    "startswith": 1.0,
    "endswith": 1.0,
    "contains": 1.0,
    "icontains": 2.0,
    "bcontains": 2.0,
    "bstartswith": 2.0,
    "pmatch": 3.0,
    "glob": 3.0,
    "iglob": 4.0,
    "regex": 4.0,
}


def estimate(node: ast.Node, field_cost: FieldCost) -> tuple[float, float]:
    """(cost, probability of holding) of a boolean node, both rough estimates."""
    if isinstance(node, ast.And | ast.Or):
        cost, p_all, p_none = 0.0, 1.0, 1.0
        for child in node.children:
            c, p = estimate(child, field_cost)
            reach = p_all if isinstance(node, ast.And) else p_none
            cost += reach * c  # later children run only when the earlier ones did not decide
            p_all, p_none = p_all * p, p_none * (1.0 - p)
        return cost, p_all if isinstance(node, ast.And) else 1.0 - p_none
    if isinstance(node, ast.Not):
        cost, p = estimate(node.child, field_cost)
        return cost, 1.0 - p
    if isinstance(node, ast.Const):
        return 0.0, 1.0 if node.value else 0.0
    if isinstance(node, ast.UnaryCheck):
        return field_cost(node.left) + 0.5, _LIKELY
    if isinstance(node, ast.BinaryCheck):
        return _check(node, field_cost)
    return 1.0, 0.5


def _check(node: ast.BinaryCheck, field_cost: FieldCost) -> tuple[float, float]:
    base, _, modifier = node.op.partition(" ")
    cost = field_cost(node.left) + _OP_COST.get(base, 2.0)
    right = node.right
    if isinstance(right, ast.Transformer):
        return cost + field_cost(right), 0.5
    values = right.values if isinstance(right, ast.ListValue) else ("",)
    if modifier:
        cost += 0.5 * len(values)
    if not values:
        return cost, 0.0
    value = right.value if isinstance(right, ast.Value) else ""
    if base == "!=":
        return cost, _LIKELY
    if base in ("<", "<=", ">", ">="):
        return cost, 0.9 if value == "0" and base[0] == ">" else 0.5
    name = node.left.name if isinstance(node.left, ast.FieldRef) else ""
    if name == "evt.num":
        return cost, 0.0  # `not evt.num = 0`, Falco's way to write "always"
    if name in FEW_VALUES:
        return cost, 0.8
    if base in ("=", "==") and value in ("true", "false", "0", "1"):
        return cost, 0.5
    return cost, _RARE


def _rank(node: ast.Node, field_cost: FieldCost, shared: Mapping[ast.Node, int]) -> float:
    cost, p = estimate(node, field_cost)
    cost /= shared.get(node, 1)  # a shared subtree is memoised: its rules share its cost
    return cost / max(1.0 - p, 0.01)


def _never(node: ast.Node) -> bool:
    """True for a check that holds for no value: `in`, `intersects`, `pmatch` of ()."""
    return (
        isinstance(node, ast.BinaryCheck)
        and node.op in ("in", "intersects", "pmatch")
        and isinstance(node.right, ast.ListValue)
        and not node.right.values
    )


def conjuncts(node: ast.Node, keep: Container[ast.Node]) -> list[ast.Node]:
    """The top-level conjuncts of `node`, nested `and`s flattened unless kept whole."""
    if not isinstance(node, ast.And) or node in keep:
        return [node]
    out: list[ast.Node] = []
    for child in node.children:
        if isinstance(child, ast.And) and child not in keep:
            out.extend(conjuncts(child, keep))
        else:
            out.append(child)
    return out


def reorder(node: ast.Node, field_cost: FieldCost, shared: Mapping[ast.Node, int]) -> ast.Node:
    """`node` with its top-level conjuncts in cheapest-rejection-first order.

    `shared` counts the rules using each subtree shared by several: such a subtree is not
    flattened, and its cost is split between its users (it is evaluated once per event).
    """
    if not isinstance(node, ast.And) or node in shared:
        return node
    parts = conjuncts(node, shared)
    if any(_never(part) for part in parts):
        return ast.Const(False)  # a membership in an empty list (a list Falco ships empty)
    parts.sort(key=lambda part: _rank(part, field_cost, shared))  # stable: ties keep rule order
    return parts[0] if len(parts) == 1 else ast.And(tuple(parts), node.pos)
