"""Load-time warnings about conditions and outputs (Falco's warning resolver and friends)."""

from __future__ import annotations

import re

from stockade.rules import ast
from stockade.rules.collector import RuleDef
from stockade.rules.errors import RulesError
from stockade.rules.fields import FieldTable
from stockade.rules.messages import LoadMessage

DEPRECATED_FIELDS = {
    "evt.dir": (
        "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and "
        "'evt.dir = >' always evaluates to false. The rule expression can be simplified by "
        "removing the condition on 'evt.dir'"
    ),
}
CONTAINER_INFO = "%container.info"
_FIELDISH = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+(?:\[[^\]]*\])?")


def _walk(node: ast.Node) -> list[ast.Node]:
    found: list[ast.Node] = [node]
    if isinstance(node, ast.And | ast.Or):
        for child in node.children:
            found.extend(_walk(child))
    elif isinstance(node, ast.Not):
        found.extend(_walk(node.child))
    elif isinstance(node, ast.UnaryCheck | ast.BinaryCheck):
        found.extend(_walk(node.left))
        if isinstance(node, ast.BinaryCheck):
            found.extend(_walk(node.right))
    elif isinstance(node, ast.Transformer):
        for arg in node.args:
            found.extend(_walk(arg))
    return found


def _is_field(text: str, table: FieldTable) -> bool:
    m = _FIELDISH.fullmatch(text)
    if m is None:
        return False
    name, _, arg = text.partition("[")
    try:
        table.lookup(name, arg.rstrip("]") if arg else None)
    except RulesError:
        return False
    return True


def condition_warnings(tree: ast.Node, rule: RuleDef, table: FieldTable) -> list[LoadMessage]:
    """Deprecated fields used, and values that look like fields used as plain strings."""
    warnings: list[LoadMessage] = []
    deprecated: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.FieldRef) and node.name in DEPRECATED_FIELDS:
            deprecated.add(node.name)
        if isinstance(node, ast.BinaryCheck):
            right = node.right
            values = right.values if isinstance(right, ast.ListValue) else ()
            values = (right.value,) if isinstance(right, ast.Value) else values
            warnings.extend(
                rule.origin.message(
                    "LOAD_COMPILE_CONDITION",
                    f"'{v}' may be a valid field misused as a const string value",
                )
                for v in values
                if _is_field(v, table)
            )
    warnings.extend(
        rule.origin.message("LOAD_DEPRECATED_ITEM", DEPRECATED_FIELDS[name])
        for name in sorted(deprecated)
    )
    return warnings


def output_text(rule: RuleDef) -> tuple[str, list[LoadMessage]]:
    """The output to compile (without the obsolete %container.info) and its warnings."""
    warnings: list[LoadMessage] = []
    text = rule.output
    if CONTAINER_INFO in text:
        warnings.append(
            rule.origin.message(
                "LOAD_DEPRECATED_ITEM",
                "%container.info is deprecated and no more useful, and will be dropped by "
                "Falco 1.0.0. The container plugin will automatically add required fields to "
                "the output message.",
            )
        )
        text = text.replace(CONTAINER_INFO, "").strip()
    warnings.extend(
        rule.origin.message(
            "LOAD_DEPRECATED_ITEM",
            f"usage of deprecated field '{name}' has been detected in the rule output",
        )
        for name in DEPRECATED_FIELDS
        if f"%{name}" in text
    )
    return text, warnings
