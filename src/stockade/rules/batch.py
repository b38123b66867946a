"""One generated function per event type that judges all of that type's rules at once.

Inside it, each field is extracted at most once per event (a local slot filled on first
use) and condition subtrees shared by several rules (expanded macros such as `open_write`)
are evaluated at most once. Each rule's test sits in its own try block, so a rule that
fails on an odd event does not hide the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.ruleset import CompiledRule

Dispatch = Callable[[Event], list[CompiledRule]]
_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)
_UNSET = object()


def _subtrees(node: ast.Node, seen: Counter[ast.Node]) -> None:
    if isinstance(node, ast.And | ast.Or):
        seen[node] += 1
        for child in node.children:
            _subtrees(child, seen)
    elif isinstance(node, ast.Not):
        _subtrees(node.child, seen)


def build_dispatch(
    compiler: ConditionCompiler,
    entries: Sequence[tuple[CompiledRule, ast.Node]],
    *,
    first_only: bool,
    label: str,
) -> Dispatch:
    """A function returning the rules (of `entries`, in order) that `event` matches."""
    shared: Counter[ast.Node] = Counter()
    for _, tree in entries:
        _subtrees(tree, shared)
    compiler.field_slots = {}
    compiler.node_slots = {node: f"_m{i}" for i, (node, n) in enumerate(shared.items()) if n > 1}
    ns: dict[str, Any] = {}
    body: list[str] = []
    try:
        for i, (rule, tree) in enumerate(entries):
            ns[f"R{i}"] = rule
            if isinstance(tree, ast.Const):
                if tree.value:
                    body.append(f"    hits.append(R{i})")
                continue
            test = compiler.expr(tree)
            done = "\n            return hits" if first_only else ""
            body.append(
                f"    try:\n        if {test}:\n            hits.append(R{i}){done}\n"
                "    except _ERRORS:\n        pass"
            )
        slots = [*compiler.field_slots.values(), *compiler.node_slots.values()]
    finally:
        compiler.field_slots = None
        compiler.node_slots = None
    head = ["def _dispatch(e):"]
    if slots:
        head.append("    " + " = ".join(slots) + " = _U")
    head.append("    hits = []")
    src = "\n".join([*head, *body, "    return hits", ""])
    code = compile(src, f"<rules for {label}>", "exec")
    namespace = {**compiler.ns, **ns, "_U": _UNSET, "_ERRORS": _ERRORS}
    local: dict[str, Any] = {}
    exec(code, namespace, local)  # noqa: S102 - source generated from parsed conditions
    fn: Dispatch = local["_dispatch"]
    return fn
