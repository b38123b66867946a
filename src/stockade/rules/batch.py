"""One generated function per event type that judges all of that type's rules at once.

Inside it, each field is extracted at most once per event (a local slot filled on first
use) and condition subtrees shared by several rules (expanded macros such as `open_write`)
are evaluated at most once. Each rule's test sits in its own try block, so a rule that
fails on an odd event does not hide the others.

Most events match no rule, so the function is built to say no fast: each rule's top-level
conjuncts run cheapest rejection first (order.py), and rules sharing a key test on one
field sit under one merged guard (keys.py), so a single set lookup or str.endswith(tuple)
skips them all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.errors import RuleCompileError
from stockade.rules.fields import FieldType
from stockade.rules.keys import Key, key_groups, merge, rule_key
from stockade.rules.order import COSTLY_FIELDS, reorder
from stockade.rules.ruleset import CompiledRule

Dispatch = Callable[[Event], list[CompiledRule]]
_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)
_UNSET = object()
CHUNK = 8  # rules per sub-group of a large key group


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
    common = {node: n for node, n in shared.items() if n > 1}
    cost = _field_cost(compiler)
    entries = [(rule, reorder(tree, cost, common)) for rule, tree in entries]
    shared.clear()
    for _, tree in entries:
        _subtrees(tree, shared)
    compiler.node_slots = {node: f"_m{i}" for i, (node, n) in enumerate(shared.items()) if n > 1}
    try:
        # First pass counts how often each field is read; only those read twice get a slot.
        compiler.field_slots, compiler.field_uses, compiler.memo_fields = {}, Counter(), None
        _body(compiler, entries, first_only)
        uses = compiler.field_uses
        compiler.memo_fields = frozenset(k for k, n in uses.items() if n > 1)
        # Fields are read lazily: the conjunct order makes most rules stop before reading
        # most fields, so reading any up front costs more than the memo check saves.
        compiler.field_slots = {}
        body, ns = _body(compiler, entries, first_only)
        slots = [*compiler.field_slots.values(), *compiler.node_slots.values()]
    finally:
        compiler.field_slots = None
        compiler.node_slots = None
        compiler.memo_fields = None
    head = ["def _dispatch(e):", "    _u = _U", "    _fd, _p, _an = e.fd, e.proc, e.ancestors"]
    if slots:
        head.append("    " + " = ".join(slots) + " = _u")
    head.append("    hits = []")
    src = "\n".join([*head, *body, "    return hits", ""])
    code = compile(src, f"<rules for {label}>", "exec")
    available = {**compiler.ns, **ns, "_U": _UNSET, "_ERRORS": _ERRORS}
    # The compiler's namespace holds every loaded rule's constants; a copy per event type
    # cost megabytes with Falco's rules loaded. Each function keeps only the names it reads.
    namespace = {name: available[name] for name in _global_names(code) if name in available}
    local: dict[str, Any] = {}
    exec(code, namespace, local)  # noqa: S102 - source generated from parsed conditions
    fn: Dispatch = local["_dispatch"]
    return fn


def _global_names(code: CodeType) -> set[str]:
    """Every name `code` and the functions and comprehensions inside it may look up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _global_names(const)
    return names


def _field_cost(compiler: ConditionCompiler) -> Callable[[ast.FieldRef | ast.Transformer], float]:
    """Rough cost of reading a field in generated code (an inline attribute read is 1)."""

    def cost(node: ast.FieldRef | ast.Transformer) -> float:
        if not isinstance(node, ast.FieldRef):
            return 5.0
        try:
            inline, cheap = compiler.builder.inline(node)
            fdef, _ = compiler.builder.table.lookup(node.name, node.arg)
        except RuleCompileError:
            return 5.0
        if fdef.name in COSTLY_FIELDS:
            return 8.0
        if inline:
            return 1.0 if cheap else 1.5
        return 6.0 if fdef.is_multi(node.arg) else 3.0

    return cost


Source = Callable[[], str]  # generates a guard expression when its block is written
Keyed = tuple[object, Source, Source | None]  # group, its guard, the member's chunk guard


def _keyed(
    compiler: ConditionCompiler, entries: Sequence[tuple[CompiledRule, ast.Node]]
) -> dict[int, Keyed]:
    """Rule index -> (key group, group guard, chunk guard) for rules in key groups.

    A large group is cut into chunks of CHUNK rules, each under its own merged key too, so
    an event passing the group's guard (a shell, say) is tested by few of its rules.
    """

    def eligible(ref: ast.FieldRef) -> bool:
        try:
            inline, _ = compiler.builder.inline(ref)
            _, ftype, multi = compiler.getter(ref)
        except RuleCompileError:
            return False
        return bool(inline) and ftype is FieldType.STRING and not multi

    keys = [rule_key(tree, eligible) for _, tree in entries]
    out: dict[int, Keyed] = {}
    for members in key_groups(keys):
        source = _key_guard(compiler, merge([keys[i] or {} for i in members]))
        if len(members) <= CHUNK:
            out.update((i, (members[0], source, None)) for i in members)
            continue
        for start in range(0, len(members), CHUNK):
            chunk = members[start : start + CHUNK]
            part = _key_guard(compiler, merge([keys[i] or {} for i in chunk]))
            out.update((i, (members[0], source, part)) for i in chunk)
    return out


def _key_guard(compiler: ConditionCompiler, key: Key) -> Source:
    """A function generating the guard expression of a merged key (when the block is made)."""

    def source() -> str:
        tests = []
        for (kind, field), values in sorted(key.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            read, _, _ = compiler.access(field)
            if kind == "in":
                tests.append(f"({read} in {compiler.constant(values)})")
                continue
            method = "startswith" if kind.endswith("prefix") else "endswith"
            k = compiler.constant(tuple(sorted(values)))
            if kind.startswith("i"):  # iglob: non-ASCII values are left to the regex
                test = f"(not _v.isascii() or _v.lower().{method}({k}))"
            else:
                test = f"_v.{method}({k})"
            tests.append(f"((_v := {read}) is not None and {test})")
        return "(" + " or ".join(tests) + ")"

    return source


def _expr_source(compiler: ConditionCompiler, node: ast.Node) -> Source:
    return lambda: compiler.expr(node)


def _guarded(source: Source, indent: str, name: str) -> str:
    """A guard statement: `name` holds the guard's truth (False when it fails)."""
    return (
        f"{indent}try:\n{indent}    {name} = {source()}\n"
        f"{indent}except _ERRORS:\n{indent}    {name} = False\n{indent}if {name}:"
    )


def _guard(compiler: ConditionCompiler, tree: ast.Node) -> tuple[ast.Node, ast.Node] | None:
    """(shared first conjunct, the rest) when a rule starts with a shared subtree."""
    slots = compiler.node_slots or {}
    if not isinstance(tree, ast.And) or tree.children[0] not in slots:
        return None
    rest = tree.children[1:]
    return tree.children[0], rest[0] if len(rest) == 1 else ast.And(rest, tree.pos)


def _test(i: int, test: str, indent: str, first_only: bool) -> str:
    done = f"\n{indent}        return hits" if first_only else ""
    return (
        f"{indent}try:\n{indent}    if {test}:\n{indent}        hits.append(R{i}){done}\n"
        f"{indent}except _ERRORS:\n{indent}    pass"
    )


def _body(
    compiler: ConditionCompiler,
    entries: Sequence[tuple[CompiledRule, ast.Node]],
    first_only: bool,
) -> tuple[list[str], dict[str, Any]]:
    """The dispatch function's statements: one guarded test per rule.

    Rules that start with the same shared subtree (an expanded macro such as `open_read`)
    are tested together under it, so one false guard skips the whole group; the hits are
    then put back in rule order. With matching="first" every rule keeps its own place.
    """
    ns: dict[str, Any] = {"_RANK": {rule: i for i, (rule, _) in enumerate(entries)}}
    body: list[str] = []
    groups: dict[object, list[tuple[int, ast.Node, Source | None]]] = {}
    guards: dict[object, Source] = {}
    keyed = {} if first_only else _keyed(compiler, entries)
    for i, (rule, tree) in enumerate(entries):
        ns[f"R{i}"] = rule
        if isinstance(tree, ast.Const):
            if tree.value:
                body.append(f"    hits.append(R{i})")
            continue
        chunk = None
        if i in keyed:
            group, source, chunk = keyed[i]
            test: ast.Node = tree
        else:
            split = None if first_only else _guard(compiler, tree)
            if split is None:
                body.append(_test(i, compiler.expr(tree), "    ", first_only))
                continue
            group, test = split
            source = _expr_source(compiler, split[0])
        guards.setdefault(group, source)
        if group not in groups:
            groups[group] = []
            body.append(f"#group{len(groups) - 1}")
        groups[group].append((i, test, chunk))
    for n, (group, members) in enumerate(groups.items()):
        block = [_guarded(guards[group], "    ", "_g")]
        current: Source | None = None
        for i, test, chunk in members:
            if chunk is not None and chunk is not current:
                block.append(_guarded(chunk, "        ", "_h"))
            current = chunk
            indent = "            " if chunk is not None else "        "
            block.append(_test(i, compiler.expr(test), indent, first_only))
        body[body.index(f"#group{n}")] = "\n".join(block)
    if groups:
        body.append("    if len(hits) > 1:\n        hits.sort(key=_RANK.__getitem__)")
    return body, ns
