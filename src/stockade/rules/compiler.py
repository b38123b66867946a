"""Compile an expanded condition AST into one Python function, generated once per rule.

Each check becomes an inline Python expression over field extractors (`F3(e)`) and
constants prepared at load time (`K7`: frozensets, compiled patterns, parsed numbers), so
`and`/`or` keep Python's short-circuit order and an event costs a few calls per check.
A field that cannot be extracted (None) makes every check on it false.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.dns import DNS_NAMES, NAME_FIELDS
from stockade.rules.errors import RuleCompileError
from stockade.rules.fields import Extractor, FieldTable, FieldType
from stockade.rules.fields.base import INLINE_HELPERS
from stockade.rules.folding import Folded, fold
from stockade.rules.operators import (
    any_of,
    dynamic_check,
    in_nets,
    net_ranges,
    parse_value,
    pmatch,
)
from stockade.rules.regex import Regex
from stockade.rules.transformers import ExtractorBuilder

Predicate = Callable[[Event], bool]

_STRING_ONLY = frozenset(
    {"contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob"}
    | {"iglob", "regex", "pmatch"}
)
_ORDER = frozenset({"<", "<=", ">", ">="})
_LOCAL_NAMES = {"e.fd": "_fd", "e.proc": "_p", "e.ancestors": "_an"}
_CALL = re.compile(r"[\w\]]\s*\(|\.\w+_id\b")  # a call or a computed property
_LOCALS = re.compile(r"\be\.(?:fd|proc|ancestors)\b")


class ConditionCompiler:
    """Generates and compiles predicate functions sharing one namespace of constants."""

    def __init__(self, table: FieldTable) -> None:
        self.builder = ExtractorBuilder(table)
        self.ns: dict[str, Any] = {
            "_in_nets": in_nets,
            "_pmatch": pmatch,
            "_dyn": dynamic_check,
            "_anyof": any_of,
            **INLINE_HELPERS,
        }
        self._getters: dict[str, tuple[str, FieldType, bool]] = {}
        self._count = 0
        self.field_slots: dict[str, str] | None = None  # memoising mode (see batch.py)
        self.field_uses: Counter[str] = Counter()  # reads per extractor in memoising mode
        self.memo_fields: frozenset[str] | None = None  # None: memoise every field read
        self.node_slots: dict[ast.Node, str] | None = None

    def compile(self, node: ast.Node, label: str = "rule") -> Predicate:
        """A predicate for `node` (macros and lists already expanded)."""
        body = self.expr(node)
        src = f"def _pred(e):\n    return {body}\n"
        code = compile(src, f"<condition {label}>", "exec")
        local: dict[str, Any] = {}
        exec(code, self.ns, local)  # noqa: S102 - source generated from a parsed AST
        fn: Predicate = local["_pred"]
        return fn

    def source(self, node: ast.Node) -> str:
        """The Python expression generated for `node` (for debugging and explain)."""
        return self.expr(node)

    def constant(self, value: object) -> str:
        """The name of a new constant holding `value` in the generated code's namespace."""
        return self._const(value)

    def _const(self, value: object) -> str:
        name = f"K{self._count}"
        self._count += 1
        self.ns[name] = value
        return name

    def getter(self, node: ast.FieldRef | ast.Transformer) -> tuple[str, FieldType, bool]:
        """The constant name of the extractor for `node`, its type and multi-valuedness."""
        key = node_key(node)
        found = self._getters.get(key)
        if found is None:
            getter, ftype, multi = self.builder.build(node)
            found = (self._const(getter), ftype, multi)
            self._getters[key] = found
        return found

    def access(self, node: ast.FieldRef | ast.Transformer) -> tuple[str, FieldType, bool]:
        """A Python expression reading `node` from event `e` (memoised in slot mode)."""
        name, ftype, multi = self.getter(node)
        read = f"{name}(e)"
        if isinstance(node, ast.FieldRef):
            inline, cheap = self.builder.inline(node)
            if inline:
                read = f"({inline})"
                if self.field_slots is not None:  # dispatch functions bind these locals
                    read = _LOCALS.sub(lambda m: _LOCAL_NAMES[m.group(0)], read)
                if cheap or not _CALL.search(inline):  # plain attribute reads: no memo
                    return read, ftype, multi
        if self.field_slots is None:
            return read, ftype, multi
        self.field_uses[name] += 1
        if self.memo_fields is not None and name not in self.memo_fields:
            return read, ftype, multi  # read once per event: no slot needed
        slot = self.field_slots.setdefault(name, f"_f{len(self.field_slots)}")
        return f"({slot} if {slot} is not _u else ({slot} := {read}))", ftype, multi

    def expr(self, node: ast.Node) -> str:
        """The Python expression for a boolean node (shared subtrees memoised in slot mode)."""
        if self.node_slots is not None and node in self.node_slots:
            slot = self.node_slots[node]
            return f"({slot} if {slot} is not _u else ({slot} := {self._expr(node)}))"
        return self._expr(node)

    def _expr(self, node: ast.Node) -> str:
        if isinstance(node, ast.And):
            return "(" + " and ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, ast.Or):
            slow = "(" + " or ".join(self.expr(c) for c in node.children) + ")"
            folded = fold(node)
            return slow if folded is None else self._folded(folded, slow)
        if isinstance(node, ast.Not):
            return f"(not {self.expr(node.child)})"
        if isinstance(node, ast.Const):
            return "True" if node.value else "False"
        if isinstance(node, ast.UnaryCheck):
            read, _, multi = self.access(node.left)
            return f"bool({read})" if multi else f"({read} is not None)"
        if isinstance(node, ast.BinaryCheck):
            return self.check(node)
        if isinstance(node, ast.Identifier):
            raise RuleCompileError(f"undefined macro '{node.name}' used in filter.")
        raise RuleCompileError(f"unexpected {type(node).__name__} in a condition")

    def _folded(self, folded: Folded, slow: str) -> str:
        """One lowercased test for a folded disjunction; `slow` for non-ASCII values."""
        read, ftype, multi = self.access(folded.ref)
        if ftype is not FieldType.STRING or multi:
            return slow
        tests = []
        if folded.suffixes:
            tests.append(f"_w.endswith({self._const(tuple(sorted(folded.suffixes)))})")
        if folded.prefixes:
            tests.append(f"_w.startswith({self._const(tuple(sorted(folded.prefixes)))})")
        if folded.equal:
            tests.append(f"(_w in {self._const(frozenset(folded.equal))})")
        tests.extend(f"({self._const(text)} in _w)" for text in folded.contained)
        fast = f"((_w := _v.lower()) is not None and ({' or '.join(tests)}))"
        return f"((_v := {read}) is not None and ({fast} if _v.isascii() else {slow}))"

    def check(self, node: ast.BinaryCheck) -> str:
        """The Python expression for one comparison."""
        read, ftype, multi = self.access(node.left)
        base, _, modifier = node.op.partition(" ")
        self._validate(base, ftype, node)
        if isinstance(node.right, ast.Transformer):
            other, _, _ = self.access(node.right)
            op = self._const(base)
            return f"_dyn({op}, {read}, {other})"
        values = self._values(node.right)
        if isinstance(node.left, ast.FieldRef) and node.left.name in NAME_FIELDS:
            DNS_NAMES.watch(values)  # the names these fields can take (Falco's DNS manager)
            if base in ("=", "==", "in", "!=") and not modifier:
                # as Falco compares them: the address is one a named host resolves to
                args = f"{self._const(node.left.name)}, {self._const(tuple(values))}, e"
                return f"({'not ' if base == '!=' else ''}_dns_match({args}))"
        if ftype is FieldType.LIST and base in ("in", "intersects"):
            k = self._const(frozenset(values))
            if base == "in":
                return f"(bool(_v := {read}) and {k}.issuperset(_v))"
            return f"(not {k}.isdisjoint({read} or ()))"
        test = self._test(base, modifier, values, ftype)
        if multi or ftype is FieldType.LIST:
            pred = self._const(eval(f"lambda _x: {test.format(v='_x')}", self.ns))  # noqa: S307
            return f"_anyof({pred}, {read})"
        if base in ("=", "==", "in") and not modifier and ftype is not FieldType.IPNET:
            return test.format(v=read)
        return f"((_v := {read}) is not None and {test.format(v='_v')})"

    def _validate(self, op: str, ftype: FieldType, node: ast.BinaryCheck) -> None:
        if op in _STRING_ONLY and ftype not in (FieldType.STRING, FieldType.LIST):
            raise RuleCompileError(
                f"'{op}' operator not supported for field '{_describe(node.left)}' "
                f"of type {ftype.value}"
            )
        if op in _ORDER and ftype in (FieldType.BOOL, FieldType.IPADDR, FieldType.IPNET):
            raise RuleCompileError(f"'{op}' operator not supported on type {ftype.value}")

    def _values(self, right: ast.Node) -> list[str]:
        if isinstance(right, ast.ListValue):
            return list(right.values)
        if isinstance(right, ast.Value | ast.Identifier):
            return [right.value if isinstance(right, ast.Value) else right.name]
        raise RuleCompileError(f"unexpected {type(right).__name__} on the right side")

    def _test(self, op: str, modifier: str, values: list[str], ftype: FieldType) -> str:
        """A format string over `{v}` testing one value."""
        if op in ("in", "intersects") or (op in ("=", "==") and modifier in ("oneof", "anyof")):
            if (
                ftype is FieldType.IPNET
                or any("/" in v for v in values)
                and ftype is FieldType.IPADDR
            ):
                nets = net_ranges(tuple(_network(v) for v in values))
                return "({v} in " + self._const(nets) + ")"
            parsed = frozenset(parse_value(ftype, v) for v in values)
            return "({v} in " + self._const(parsed) + ")"
        if op == "pmatch":
            prefixes = tuple(v.rstrip("/") for v in values)
            return "_pmatch({v}, " + self._const(prefixes) + ")"
        if modifier:
            joiner = " and " if modifier == "allof" else " or "
            parts = [self._single(op, v, ftype) for v in values]
            return "(" + joiner.join(parts) + ")" if parts else "False"
        if len(values) != 1:
            raise RuleCompileError(f"operator '{op}' takes one value, got a list")
        return self._single(op, values[0], ftype)

    def _single(self, op: str, raw: str, ftype: FieldType) -> str:
        if ftype is FieldType.IPNET:
            net = self._const(net_ranges((_network(raw),)))
            test = "({v} in " + net + ")"
            return test if op in ("=", "==") else f"(not {test})"
        if op == "icontains":
            return "(" + self._const(raw.lower()) + " in {v}.lower())"
        if op in ("bcontains", "bstartswith"):
            try:
                needle = bytes.fromhex(raw)
            except ValueError:
                raise RuleCompileError(f"'{op}' needs a hex string, got {raw!r}") from None
            k = self._const(needle)
            method = "__contains__" if op == "bcontains" else "startswith"
            return "({v}.encode()." + method + "(" + k + "))"
        if op in ("glob", "iglob"):
            flags = re.IGNORECASE | re.DOTALL if op == "iglob" else re.DOTALL
            k = self._const(re.compile(fnmatch.translate(raw), flags))
            test = "(" + k + ".match({v}) is not None)"
            ends = self._glob_ends(raw, fold=op == "iglob")
            return "(" + ends + test + ")" if ends else test
        if op == "regex":
            return self._const(Regex(raw)) + ".matches({v})"
        k = self._const(parse_value(ftype, raw))
        return {
            "=": "({v} == " + k + ")",
            "==": "({v} == " + k + ")",
            "!=": "({v} != " + k + ")",
            "<": "({v} < " + k + ")",
            "<=": "({v} <= " + k + ")",
            ">": "({v} > " + k + ")",
            ">=": "({v} >= " + k + ")",
            "contains": "(" + k + " in {v})",
            "startswith": "{v}.startswith(" + k + ")",
            "endswith": "{v}.endswith(" + k + ")",
        }[op]

    def _glob_ends(self, pattern: str, *, fold: bool) -> str:
        """Cheap startswith/endswith tests a glob's literal ends imply (run before its regex).

        For `iglob` they compare lowercased ASCII only: a non-ASCII value goes straight to
        the regex, whose case folding str.lower() does not reproduce beyond ASCII.
        """
        wild = [i for i, c in enumerate(pattern) if c in "*?["]
        prefix = pattern[: wild[0]] if wild else pattern
        suffix = pattern[wild[-1] + 1 :] if wild and "[" not in pattern else ""
        value = "{v}"
        if fold:
            prefix = prefix.lower() if prefix.isascii() else ""
            suffix = suffix.lower() if suffix.isascii() else ""
            value = "{v}.lower()"
        tests = [value + ".startswith(" + self._const(prefix) + ")"] if prefix else []
        if suffix:
            tests.append(value + ".endswith(" + self._const(suffix) + ")")
        if not tests:
            return ""
        if fold:
            return "(not {v}.isascii() or " + " and ".join(tests) + ") and "
        return " and ".join(tests) + " and "


def node_key(node: ast.Node) -> str:
    """A text key naming a field or transformer expression (positions left out)."""
    if isinstance(node, ast.FieldRef):
        return str(node)
    if isinstance(node, ast.Transformer):
        inner = ",".join(node_key(a) for a in node.args)
        return f"{node.name}({inner})" + ("" if node.arg is None else f"[{node.arg}]")
    if isinstance(node, ast.TransformerList):
        return "(" + ",".join(node_key(a) for a in node.children) + ")"
    if isinstance(node, ast.Value):
        return repr(node.value)
    return type(node).__name__


def _network(raw: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise RuleCompileError(f"'{raw}' is not a valid IP network") from None


def _describe(node: ast.Node) -> str:
    if isinstance(node, ast.FieldRef):
        return str(node)
    if isinstance(node, ast.Transformer):
        return f"{node.name}(...)"
    return type(node).__name__


def extractor_for(table: FieldTable, ref: ast.FieldRef) -> Extractor:
    """The extractor of one field reference (for outputs)."""
    return ExtractorBuilder(table).field(ref)[0]
