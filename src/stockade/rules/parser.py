"""Falco's condition grammar as a recursive-descent parser producing `stockade.rules.ast`.

The grammar and its lexical quirks follow libsinsp's filter parser: `and` binds tighter
than `or`, `not` tighter than both; `and`/`or`/`not` need a blank or a `(` after them;
word operators (`contains`, `glob`, ...) need a blank after them; a string value is a
quoted string or a bare word without blanks, quotes, parentheses, `=` or `,`.
"""

from __future__ import annotations

from stockade.rules import ast
from stockade.rules.errors import Position, RuleSyntaxError
from stockade.rules.lexer import (
    RGX_BARE_STR,
    RGX_FIELD_ARG_BARE,
    RGX_FIELD_NAME,
    RGX_HEX_NUM,
    RGX_IDENTIFIER,
    RGX_NOT_BLANK,
    RGX_NUMBER,
    Lexer,
)

UNARY_OPS = ("exists",)
NUM_OPS = ("<=", "<", ">=", ">")
# A trailing space marks an operator that needs a blank after it.
STR_OPS = (
    "==",
    "=",
    "!=",
    "glob ",
    "iglob ",
    "contains ",
    "icontains ",
    "bcontains ",
    "startswith ",
    "bstartswith ",
    "endswith ",
    "regex ",
)
STR_MODIFIERS = ("oneof ", "anyof ", "allof ")
LIST_OPS = ("intersects", "in", "pmatch")
TRANSFORMERS = ("tolower(", "toupper(", "b64(", "basename(", "len(", "join(", "concat(", "getopt(")


def parse_condition(text: str) -> ast.Node:
    """Parse a Falco condition into its AST; raises RuleSyntaxError with the position."""
    return _Parser(text).parse()


def supported_operators() -> list[str]:
    """Every check operator, as spelled in conditions."""
    return [op.strip() for op in (*UNARY_OPS, *NUM_OPS, *STR_OPS, *LIST_OPS)]


class _Parser(Lexer):
    """Recursive descent over the lexer, building the AST."""

    # --- grammar --------------------------------------------------------------------

    def parse(self) -> ast.Node:
        if not self.text:
            raise self.error("filter input string is empty")
        node = self.parse_or()
        if self.idx != len(self.text):
            raise self.error(f"unexpected token after '{self.last}', expecting 'or', 'and'")
        return node

    def parse_bool(self, keyword: str) -> ast.Node:
        self.enter()
        pos = self.pos()
        sub = self.parse_and if keyword == "or" else self.parse_not
        self.blank()
        children = [sub()]
        self.blank()
        while self.lit(keyword):
            if not self.blank():
                if not self.lit("("):
                    raise self.error(f"expected blank or '(' after '{keyword}'")
                children.append(self.parse_embedded_remainder())
            else:
                children.append(sub())
            self.blank()
        self.depth -= 1
        if len(children) == 1:
            return children[0]
        return ast.Or(tuple(children), pos) if keyword == "or" else ast.And(tuple(children), pos)

    def parse_or(self) -> ast.Node:
        return self.parse_bool("or")

    def parse_and(self) -> ast.Node:
        return self.parse_bool("and")

    def parse_not(self) -> ast.Node:
        self.enter()
        pos = self.pos()
        negate = False
        self.blank()
        while self.rgx(RGX_NOT_BLANK):
            negate = not negate
        if self.lit("not("):
            negate = not negate
            child = self.parse_embedded_remainder()
        else:
            child = self.parse_check()
        self.depth -= 1
        return ast.Not(child, pos) if negate else child

    def parse_embedded_remainder(self) -> ast.Node:
        self.enter()
        self.blank()
        child = self.parse_or()
        self.blank()
        if not self.lit(")"):
            raise self.error("expected a ')' token")
        self.depth -= 1
        return child

    def parse_check(self) -> ast.Node:
        self.enter()
        pos = self.pos()
        self.blank()
        node: ast.Node
        if self.lit("("):
            node = self.parse_embedded_remainder()
        elif self.rgx(RGX_FIELD_NAME):
            left: ast.FieldRef | ast.Transformer = self.parse_field_remainder(self.last, pos)
            node = self.parse_comparison(left, pos)
        elif self.lit_any(TRANSFORMERS):
            self.blank()
            left = self.parse_transformer_remainder(self.last[:-1], pos)
            node = self.parse_comparison(left, pos)
        elif self.rgx(RGX_IDENTIFIER):
            node = ast.Identifier(self.last, pos)
        else:
            raise self.error("expected a '(' token, a field check, or an identifier")
        self.depth -= 1
        return node

    def parse_field_remainder(self, name: str, pos: Position) -> ast.FieldRef:
        return ast.FieldRef(name, self.parse_optional_arg(), pos)

    def parse_optional_arg(self) -> str | None:
        if not self.lit("["):
            return None
        if not self.quoted() and not self.rgx(RGX_FIELD_ARG_BARE):
            raise self.error("expected a valid field argument: a quoted string or a bare string")
        arg = self.last
        if not self.lit("]"):
            raise self.error("expected a ']' token")
        return arg

    def parse_transformer_remainder(self, name: str, pos: Position) -> ast.Transformer:
        self.enter()
        self.blank()
        args: list[ast.Node] = []
        while True:
            args.append(self.parse_transformer_arg(self.pos()))
            self.blank()
            if not self.lit(","):
                break
        self.blank()
        if not self.lit(")"):
            raise self.error("expected a ')' token closing the transformer")
        self.depth -= 1
        return ast.Transformer(name, tuple(args), self.parse_optional_arg(), pos)

    def parse_transformer_arg(self, pos: Position) -> ast.Node:
        self.enter()
        self.blank()
        node: ast.Node
        if self.rgx(RGX_HEX_NUM) or self.rgx(RGX_NUMBER) or self.quoted():
            node = ast.Value(self.last, pos)
        elif self.lit("("):
            node = self.parse_transformer_list(pos)
        elif self.lit_any(TRANSFORMERS):
            node = self.parse_transformer_remainder(self.last[:-1], pos)
        elif self.rgx(RGX_FIELD_NAME):
            node = self.parse_field_remainder(self.last, pos)
        else:
            raise self.error(
                "expected field transformer argument: "
                "field, transformer, quoted string, number, or transformer list"
            )
        self.depth -= 1
        return node

    def parse_transformer_list(self, pos: Position) -> ast.TransformerList:
        children: list[ast.Node] = []
        self.blank()
        if self.lit(")"):
            return ast.TransformerList((), pos)
        children.append(self.parse_transformer_list_arg(pos))
        self.blank()
        while self.lit(","):
            self.blank()
            children.append(self.parse_transformer_list_arg(pos))
            self.blank()
        if not self.lit(")"):
            raise self.error("expected ')'")
        return ast.TransformerList(tuple(children), pos)

    def parse_transformer_list_arg(self, pos: Position) -> ast.Node:
        if self.rgx(RGX_FIELD_NAME):
            return self.parse_field_remainder(self.last, pos)
        if self.lit_any(TRANSFORMERS):
            self.blank()
            return self.parse_transformer_remainder(self.last[:-1], pos)
        if self.quoted() or self.rgx(RGX_HEX_NUM) or self.rgx(RGX_NUMBER):
            return ast.Value(self.last, pos)
        raise self.error(
            "expected transformer list argument: field, transformer, quoted string, or number"
        )

    def parse_comparison(self, left: ast.FieldRef | ast.Transformer, pos: Position) -> ast.Node:
        self.enter()
        self.blank()
        if self.operator(UNARY_OPS):
            self.depth -= 1
            return ast.UnaryCheck(left, self.last.strip(), pos)
        self.blank()
        right: ast.Value | ast.ListValue | ast.Identifier | ast.Transformer
        if self.operator(NUM_OPS):
            op = self.last
            right = self.parse_num_value()
        elif self.operator(STR_OPS):
            op = self.last.strip()
            had_blank = op[0].isalpha() or self.blank()
            saved, saved_last = self.pos(), self.last
            if (
                had_blank
                and self.operator(STR_MODIFIERS)
                and self.list_value_follows()
                and not self.bool_keyword_follows()
            ):
                op = f"{op} {self.last.strip()}"
                right = self.parse_list_value(with_transformer=False)
            else:
                self.restore(saved)
                self.last = saved_last
                right = self.parse_str_value(with_transformer=True)
        elif self.operator(LIST_OPS):
            op = self.last
            right = self.parse_list_value(with_transformer=True)
        else:
            ops = ", ".join(f"'{o}'" for o in supported_operators())
            raise self.error(f"expected a valid check operator: one of {ops}")
        self.depth -= 1
        return ast.BinaryCheck(left, op.strip(), right, pos)

    def list_value_follows(self) -> bool:
        if self.text.startswith("(", self.idx):
            return True
        return RGX_IDENTIFIER.match(self.text, self.idx) is not None

    def bool_keyword_follows(self) -> bool:
        for kw in ("and", "or", "not"):
            if self.text.startswith(kw, self.idx):
                after = self.text[self.idx + len(kw) : self.idx + len(kw) + 1]
                if not after or not after.isalnum():
                    return True
        return False

    def parse_num_value(self) -> ast.Value | ast.Transformer:
        self.blank()
        pos = self.pos()
        transformer = self.try_transformer_or_val()
        if transformer is not None:
            return transformer
        if self.rgx(RGX_HEX_NUM) or self.rgx(RGX_NUMBER):
            return ast.Value(self.last, pos)
        raise self.error("expected a number value or a field with a valid transformer")

    def parse_str_value(self, *, with_transformer: bool) -> ast.Value | ast.Transformer:
        self.blank()
        pos = self.pos()
        if with_transformer:
            transformer = self.try_transformer_or_val()
            if transformer is not None:
                return transformer
        if self.quoted() or self.rgx(RGX_BARE_STR):
            return ast.Value(self.last, pos)
        if not with_transformer:
            raise self.error("expected a string value")
        raise self.error("expected a string value or a field with a valid transformer")

    def try_list(self) -> ast.ListValue | None:
        pos = self.pos()
        if not self.lit("("):
            return None
        values: list[str] = []
        self.blank()
        try:
            first = self.parse_str_value(with_transformer=False)
        except RuleSyntaxError:
            first = None
        if first is not None:
            values.append(first.value if isinstance(first, ast.Value) else "")
            self.blank()
            while self.lit(","):
                item = self.parse_str_value(with_transformer=False)
                values.append(item.value if isinstance(item, ast.Value) else "")
                self.blank()
        if not self.lit(")"):
            raise self.error("expected a ')' token")
        return ast.ListValue(tuple(values), pos)

    def parse_list_value(
        self, *, with_transformer: bool
    ) -> ast.ListValue | ast.Identifier | ast.Transformer:
        self.enter()
        self.blank()
        pos = self.pos()
        result: ast.ListValue | ast.Identifier | ast.Transformer | None = self.try_list()
        if result is None and with_transformer:
            result = self.try_transformer_or_val()
        if result is None and self.rgx(RGX_IDENTIFIER):
            result = ast.Identifier(self.last, pos)
        if result is None:
            raise self.error(
                "expected a list, an identifier, or a field with a valid transformer"
                if with_transformer
                else "expected a list or an identifier"
            )
        self.depth -= 1
        return result

    def try_transformer_or_val(self) -> ast.Transformer | None:
        self.blank()
        pos = self.pos()
        if self.lit("val("):
            self.blank()
            field_pos = self.pos()
            if not self.rgx(RGX_FIELD_NAME):
                raise self.error("expected a field within 'val' transformer")
            child = self.parse_field_remainder(self.last, field_pos)
            self.blank()
            if not self.lit(")"):
                raise self.error("expected a ')' token closing the transformer")
            return ast.Transformer("val", (child,), self.parse_optional_arg(), pos)
        if self.lit_any(TRANSFORMERS):
            self.blank()
            return self.parse_transformer_remainder(self.last[:-1], pos)
        return None
