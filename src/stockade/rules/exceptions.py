"""Rule exceptions turned into condition AST: `cond and not (ex1 or ex2 ...)`."""

from __future__ import annotations

from typing import Any

from stockade.rules import ast
from stockade.rules.collector import ExceptionDef, ItemError
from stockade.rules.errors import RuleCompileError, RuleSyntaxError
from stockade.rules.fields import FieldTable
from stockade.rules.parser import LIST_OPS, NUM_OPS, STR_OPS, UNARY_OPS, parse_condition
from stockade.rules.transformers import ExtractorBuilder

_BASE_OPS = frozenset(op.strip() for op in (*UNARY_OPS, *NUM_OPS, *STR_OPS, *LIST_OPS))
_STR_BASE = frozenset(op.strip() for op in STR_OPS)
_MODIFIERS = frozenset({"oneof", "anyof", "allof"})
_LIST_COMPS = frozenset(LIST_OPS)


def normalize_comp(comp: str) -> str:
    """A comparison operator with surrounding blanks removed and inner blanks collapsed."""
    return " ".join(comp.split())


def is_modifier_op(comp: str) -> bool:
    """True for `<string operator> oneof|anyof|allof`."""
    base, _, modifier = comp.partition(" ")
    return base in _STR_BASE and modifier in _MODIFIERS


def _field_node(text: str, table: FieldTable) -> ast.FieldRef | ast.Transformer:
    try:
        node = parse_condition(f"{text} exists")
    except RuleSyntaxError:
        raise ItemError(f"'{text}' is not a supported filter field") from None
    if not isinstance(node, ast.UnaryCheck):
        raise ItemError(f"'{text}' is not a supported filter field")
    try:
        ExtractorBuilder(table).build(node.left)
    except RuleCompileError:
        raise ItemError(f"'{text}' is not a supported filter field") from None
    return node.left


def validate(ex: ExceptionDef, table: FieldTable) -> None:
    """Falco's checks on an exception's fields and comps (raises ItemError)."""
    if isinstance(ex.fields, list):
        if ex.comps is None:
            ex.comps = ["="] * len(ex.fields)
        if not isinstance(ex.comps, list) or len(ex.comps) != len(ex.fields):
            raise ItemError("Fields and comps lists must have equal length")
        ex.comps = [normalize_comp(str(c)) for c in ex.comps]
        for comp in ex.comps:
            if comp not in _BASE_OPS and not is_modifier_op(comp):
                raise ItemError(f"'{comp}' is not a supported comparison operator")
        for f in ex.fields:
            _field_node(str(f), table)
        for value in ex.values:
            if not isinstance(value, list) or len(value) != len(ex.fields):
                raise ItemError("Fields and values lists must have equal length")
    elif ex.fields is not None:
        if isinstance(ex.comps, list):
            raise ItemError("Fields and comps must both be strings")
        comp = normalize_comp("in" if ex.comps is None else str(ex.comps))
        if comp not in _LIST_COMPS and not is_modifier_op(comp):
            raise ItemError(
                "When fields is a single value, comps must be one of (in, pmatch, intersects) "
                "or a modifier operator (e.g. startswith oneof)"
            )
        ex.comps = comp
        _field_node(str(ex.fields), table)


def _value_node(comp: str, value: Any) -> ast.Value | ast.ListValue:
    if isinstance(value, list):
        return ast.ListValue(tuple(_text(v) for v in value))
    text = _text(value)
    if comp in _LIST_COMPS or is_modifier_op(comp):
        if text.startswith("(") and text.endswith(")"):
            inner = [v.strip() for v in text[1:-1].split(",") if v.strip()]
            return ast.ListValue(tuple(inner))
        return ast.ListValue((text,))
    return ast.Value(text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def exception_node(ex: ExceptionDef, table: FieldTable) -> ast.Node | None:
    """The condition matching any of the exception's value tuples (None if no values)."""
    alternatives: list[ast.Node] = []
    if isinstance(ex.fields, list):
        assert isinstance(ex.comps, list)
        lefts = [_field_node(str(f), table) for f in ex.fields]
        for value in ex.values:
            checks: list[ast.Node] = [
                ast.BinaryCheck(left, comp, _value_node(comp, v))
                for left, comp, v in zip(lefts, ex.comps, value, strict=True)
            ]
            alternatives.append(checks[0] if len(checks) == 1 else ast.And(tuple(checks)))
    elif ex.fields is not None and ex.values:
        comp = str(ex.comps)
        left = _field_node(str(ex.fields), table)
        values = tuple(_text(v) for v in ex.values)
        if is_modifier_op(comp):
            alternatives.extend(
                ast.BinaryCheck(left, comp, _value_node(comp, v)) for v in ex.values
            )
        else:
            alternatives.append(ast.BinaryCheck(left, comp, ast.ListValue(values)))
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else ast.Or(tuple(alternatives))


def with_exceptions(
    condition: ast.Node, exceptions: list[ExceptionDef], table: FieldTable
) -> ast.Node:
    """`condition and not (exception or ...)`, or `condition` when no exception has values."""
    nodes = [n for ex in exceptions if (n := exception_node(ex, table)) is not None]
    if not nodes:
        return condition
    excluded = nodes[0] if len(nodes) == 1 else ast.Or(tuple(nodes))
    return ast.And((condition, ast.Not(excluded)))
