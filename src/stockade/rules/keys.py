"""Key groups: rules sharing a cheap necessary condition on one field are tested together.

Many rules start (once their conjuncts are ordered) with a membership, prefix or suffix
test on one string field: `proc.name in (...)`, `fd.name startswith /etc/cron`,
`fd.directory in (...) or fd.filename in (...)`. Such a conjunct is a key: a rule can only
match when the field's value is one of its values (or starts or ends with one). Rules whose
keys share a test (the same kind on the same field) are grouped, and the group's guard is
the union of their keys: one frozenset lookup or one `str.startswith(tuple)` per field
rejects the whole group.
The guard is a necessary condition of every member, so the hits are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stockade.rules import ast
from stockade.rules.order import FEW_VALUES, conjuncts

KeyPart = tuple[str, ast.FieldRef]  # (kind, the field)
"""Kinds: "in", "prefix", "suffix", and "iprefix"/"isuffix" (lowercased, ASCII values)."""
Key = dict[KeyPart, frozenset[str]]
_KINDS = {"=": "in", "==": "in", "in": "in", "startswith": "prefix", "endswith": "suffix"}


def _check_key(node: ast.BinaryCheck, eligible: Callable[[ast.FieldRef], bool]) -> Key | None:
    if not isinstance(node.left, ast.FieldRef) or node.left.name in FEW_VALUES:
        return None
    if not eligible(node.left):
        return None
    right = node.right
    if isinstance(right, ast.ListValue):
        values = frozenset(right.values)
    elif isinstance(right, ast.Value):
        values = frozenset((right.value,))
    else:
        return None
    if not values:
        return None
    kind = _KINDS.get(node.op)
    if node.op in ("glob", "iglob") and len(values) == 1:
        return _glob_key(node.left, next(iter(values)), fold=node.op == "iglob")
    if kind is None or (kind != "in" and len(values) != 1):
        return None
    return {(kind, node.left): values}


def _glob_key(field: ast.FieldRef, pattern: str, *, fold: bool) -> Key | None:
    """A glob's literal suffix (else prefix) as a key; lowercased ASCII for `iglob`."""
    wild = [i for i, c in enumerate(pattern) if c in "*?["]
    if not wild:
        return None
    suffix = pattern[wild[-1] + 1 :] if "[" not in pattern else ""
    prefix = pattern[: wild[0]]
    kind, literal = ("suffix", suffix) if suffix else ("prefix", prefix)
    if not literal or (fold and not literal.isascii()):
        return None
    if fold:
        kind, literal = "i" + kind, literal.lower()
    return {(kind, field): frozenset((literal,))}


def key_of(node: ast.Node, eligible: Callable[[ast.FieldRef], bool]) -> Key | None:
    """The key a conjunct amounts to, or None when it is not a key."""
    if isinstance(node, ast.BinaryCheck):
        return _check_key(node, eligible)
    if isinstance(node, ast.And):  # every child must hold: any child's key is one
        return rule_key(node, eligible)
    if isinstance(node, ast.Or):
        parts = [key_of(child, eligible) for child in node.children]
        return None if any(p is None for p in parts) else merge([p for p in parts if p])
    return None


def rule_key(tree: ast.Node, eligible: Callable[[ast.FieldRef], bool]) -> Key | None:
    """The key of the first top-level conjunct of `tree` that is one."""
    for part in conjuncts(tree, ()):
        key = key_of(part, eligible)
        if key is not None:
            return key
    return None


def key_groups(keys: Sequence[Key | None]) -> list[list[int]]:
    """Indexes of rules whose keys share a test (kind and field), in groups of two or more."""
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[KeyPart, int] = {}
    for i, key in enumerate(keys):
        for part in key or {}:
            if part in owner:
                parent[root(i)] = root(owner[part])
            else:
                owner[part] = i
    members: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            members.setdefault(root(i), []).append(i)
    return [group for group in members.values() if len(group) > 1]


def merge(keys: Sequence[Key]) -> Key:
    """The union of several keys."""
    merged: Key = {}
    for key in keys:
        for part, values in key.items():
            merged[part] = merged.get(part, frozenset()) | values
    return merged
