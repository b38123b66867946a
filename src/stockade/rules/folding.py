"""Fold a disjunction of case-insensitive string tests on one field into one lowered test.

Sigma's `Image|endswith: [...]` lists arrive as `proc.exepath iglob "*/a" or proc.exepath
iglob "*/b" or ...`, one regex each. For an ASCII value, a glob that is one literal with
`*` at either end (or neither) is exactly a str test on the lowercased value: "*lit" is
endswith, "lit*" startswith, "*lit*" contains, "lit" equality; `icontains` is contains.
So the whole disjunction becomes one lowercasing and a few C calls:

    (v.lower().endswith(("/a", "/b")) or ...) if v.isascii() else <the original tests>

Non-ASCII values keep the regexes, whose case folding str.lower() does not reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.rules import ast

_WILD = frozenset("*?[")


@dataclass(slots=True)
class Folded:
    """The lowered literals of a foldable disjunction, by the test each needs."""

    ref: ast.FieldRef
    suffixes: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    equal: set[str] = field(default_factory=set)
    contained: list[str] = field(default_factory=list)


def _shape(node: ast.Node) -> tuple[ast.FieldRef, str, str] | None:
    """(field, shape, lowered literal) of one foldable check."""
    if not isinstance(node, ast.BinaryCheck) or not isinstance(node.left, ast.FieldRef):
        return None
    if not isinstance(node.right, ast.Value):
        return None
    text = node.right.value
    if node.op == "icontains":
        return node.left, "contains", text.lower()
    if node.op != "iglob":
        return None
    head, tail = text.startswith("*"), text.endswith("*") and len(text) > 1
    literal = text[1 if head else 0 : len(text) - 1 if tail else len(text)]
    if not literal or not literal.isascii() or _WILD & set(literal):
        return None
    shape = {(True, True): "contains", (True, False): "suffix", (False, True): "prefix"}
    return node.left, shape.get((head, tail), "equal"), literal.lower()


def fold(node: ast.Or) -> Folded | None:
    """The folded form of `node` when every alternative is a foldable check on one field."""
    if len(node.children) < 2:
        return None
    folded: Folded | None = None
    for child in node.children:
        found = _shape(child)
        if found is None:
            return None
        ref, shape, literal = found
        if folded is None:
            folded = Folded(ref)
        elif ref != folded.ref:
            return None
        if shape == "suffix":
            folded.suffixes.add(literal)
        elif shape == "prefix":
            folded.prefixes.add(literal)
        elif shape == "equal":
            folded.equal.add(literal)
        elif literal not in folded.contained:
            folded.contained.append(literal)
    return folded
