"""Field transformers (`tolower(proc.name)`, `join("-", (a.b, c.d))` ...) as extractors."""

from __future__ import annotations

import base64
import binascii
import getopt
import posixpath
from collections.abc import Callable
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.errors import RuleCompileError
from stockade.rules.fields import Extractor, FieldTable, FieldType

STRING_TRANSFORMERS = frozenset({"tolower", "toupper", "b64", "basename"})


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


_UNARY: dict[str, Callable[[str], Any]] = {
    "tolower": str.lower,
    "toupper": str.upper,
    "b64": _b64,
    "basename": posixpath.basename,
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return " ".join(map(str, value))
    return str(value)


class ExtractorBuilder:
    """Turns field references and transformers into extractors, with their result type."""

    def __init__(self, table: FieldTable) -> None:
        self.table = table

    def field(self, ref: ast.FieldRef) -> tuple[Extractor, FieldType, bool]:
        """Extractor, type and multi-valuedness of a field reference."""
        fdef, arg = self.table.lookup(ref.name, ref.arg)
        return fdef.extractor(arg), fdef.type, fdef.is_multi(arg)

    def inline(self, ref: ast.FieldRef) -> tuple[str, bool]:
        """The inline Python expression for a field reference ("" if none) and its cheapness."""
        fdef, arg = self.table.lookup(ref.name, ref.arg)
        if fdef.is_multi(arg):
            return "", False
        return fdef.inline_for(arg), fdef.cheap

    def build(self, node: ast.Node) -> tuple[Extractor, FieldType, bool]:
        """Extractor, type and multi-valuedness for a field or transformer node."""
        if isinstance(node, ast.FieldRef):
            return self.field(node)
        if isinstance(node, ast.Value):
            literal = node.value
            return (lambda _e: literal), FieldType.STRING, False
        if isinstance(node, ast.Transformer):
            return self.transformer(node)
        raise RuleCompileError(f"unexpected {type(node).__name__} as a transformer argument")

    def transformer(self, node: ast.Transformer) -> tuple[Extractor, FieldType, bool]:
        """Extractor for one transformer application."""
        name = node.name
        if name == "val":
            return self.build(node.args[0])
        if name in _UNARY:
            return self._unary(name, node)
        if name == "len":
            inner, _, _ = self._single(node)
            return (lambda e: None if (v := inner(e)) is None else len(v)), FieldType.UINT64, False
        if name in ("join", "concat"):
            return self._joining(node), FieldType.STRING, False
        if name == "getopt":
            return self._getopt(node), FieldType.STRING, False
        raise RuleCompileError(f"unknown transformer '{name}'")

    def _single(self, node: ast.Transformer) -> tuple[Extractor, FieldType, bool]:
        if len(node.args) != 1:
            raise RuleCompileError(f"transformer '{node.name}' takes one argument")
        return self.build(node.args[0])

    def _unary(self, name: str, node: ast.Transformer) -> tuple[Extractor, FieldType, bool]:
        inner, ftype, multi = self._single(node)
        if ftype is not FieldType.STRING and ftype is not FieldType.LIST:
            raise RuleCompileError(
                f"transformer '{name}' is not supported on field type {ftype.value}"
            )
        fn = _UNARY[name]
        if multi:
            return (lambda e: tuple(fn(v) for v in inner(e) or ())), ftype, True

        def extract(e: Event) -> Any:
            value = inner(e)
            return None if value is None else fn(value)

        return extract, FieldType.STRING, False

    def _parts(self, node: ast.Node) -> list[Extractor]:
        if isinstance(node, ast.TransformerList):
            return [self.build(child)[0] for child in node.children]
        return [self.build(node)[0]]

    def _joining(self, node: ast.Transformer) -> Extractor:
        if node.name == "join":
            if len(node.args) != 2 or not isinstance(node.args[0], ast.Value):
                raise RuleCompileError("join takes a separator string and a list")
            sep = node.args[0].value
            parts = self._parts(node.args[1])
        else:
            sep = ""
            parts = [x for arg in node.args for x in self._parts(arg)]

        def extract(e: Event) -> Any:
            values = [p(e) for p in parts]
            if any(v is None for v in values):
                return None
            return sep.join(_text(v) for v in values)

        return extract

    def _getopt(self, node: ast.Transformer) -> Extractor:
        if len(node.args) != 2 or not isinstance(node.args[1], ast.Value):
            raise RuleCompileError("getopt takes a field and an option string")
        inner, _, _ = self.build(node.args[0])
        spec = node.args[1].value
        wanted = node.arg

        def extract(e: Event) -> Any:
            value = inner(e)
            if value is None:
                return None
            try:
                opts, _ = getopt.getopt(str(value).split(), spec)
            except getopt.GetoptError:
                return None
            found = {k.lstrip("-"): v for k, v in opts}
            if wanted is None:
                return " ".join(f"{k}={v}" if v else k for k, v in found.items())
            return found.get(wanted)

        return extract
