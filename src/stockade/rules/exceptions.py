"""Rule exceptions turned into condition AST: `cond and not (ex1 or ex2 ...)`."""

from __future__ import annotations

from typing import Any

from stockade.rules import ast
from stockade.rules.collector import ExceptionDef, ItemError
from stockade.rules.errors import RuleCompileError, RuleSyntaxError
from stockade.rules.fields import FieldTable
from stockade.rules.lists import quote_item
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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _paren_item(item: str) -> str:
    return item if item.startswith("(") else f"({item})"


def _is_list_operator(comp: str) -> bool:
    return comp in _LIST_COMPS or is_modifier_op(comp)


def _single_field(ex: ExceptionDef) -> str:
    parts: list[str] = []
    for value in ex.values:
        if isinstance(value, list):
            raise ItemError("Expected values array to contain a list of strings")
        parts.append(quote_item(_text(value)))
    return f"({ex.fields} {ex.comps} ({', '.join(parts)}))" if parts else ""


def _field_list(ex: ExceptionDef) -> str:
    assert isinstance(ex.fields, list) and isinstance(ex.comps, list)
    alternatives: list[str] = []
    for values in ex.values:
        if not isinstance(values, list) or len(values) != len(ex.fields):
            raise ItemError("Fields and values lists must have equal length")
        checks: list[str] = []
        for field, comp, value in zip(ex.fields, ex.comps, values, strict=True):
            if isinstance(value, list):
                rhs = "(" + ", ".join(quote_item(_text(v)) for v in value) + ")"
            elif _is_list_operator(comp):
                rhs = _paren_item(_text(value))
            else:
                rhs = quote_item(_text(value))
            checks.append(f" {field} {comp} {rhs}")
        alternatives.append("(" + " and ".join(checks) + ")")
    return "(" + " or ".join(alternatives) + ")" if alternatives else ""


def with_exceptions(condition: str, exceptions: list[ExceptionDef]) -> str:
    """Falco's condition text with exceptions: `(cond) and not (...) and not (...)`."""
    text = f"({condition})"
    for ex in exceptions:
        excluded = _field_list(ex) if isinstance(ex.fields, list) else _single_field(ex)
        if excluded:
            text += " and not " + excluded
    return text
