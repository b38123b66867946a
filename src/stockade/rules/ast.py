"""The syntax tree of a Falco condition, as `parse_condition` returns it.

Node kinds mirror libsinsp's filter AST: boolean nodes (`And`, `Or`, `Not`), a bare
`Identifier` (a macro or, once expanded, nothing), checks (`UnaryCheck`, `BinaryCheck`)
whose left side is a `FieldRef` or a `Transformer`, and right-side values (`Value`,
`ListValue`, or a field wrapped by a transformer such as `val(...)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.rules.errors import Position

_NOWHERE = Position()


@dataclass(frozen=True, slots=True)
class And:
    """All children must hold (short-circuit, left to right)."""

    children: tuple[Node, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    """Any child must hold (short-circuit, left to right)."""

    children: tuple[Node, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    """Negation of one child."""

    child: Node
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bare name: a macro reference in a condition, a list name in a value position."""

    name: str
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Value:
    """A literal on the right side (quoted strings come unescaped)."""

    value: str
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class ListValue:
    """A parenthesised list of literals: `(a, 'b', 3)`."""

    values: tuple[str, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class TransformerList:
    """A parenthesised list of transformer arguments, as in `join("-", (a.b, c.d))`."""

    children: tuple[Node, ...]
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field with its optional argument: `proc.aname[2]`, `proc.env[HOME]`."""

    name: str
    arg: str | None = None
    pos: Position = field(default=_NOWHERE, compare=False)

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}[{self.arg}]"


@dataclass(frozen=True, slots=True)
class Transformer:
    """A transformer applied to arguments: `tolower(proc.name)`, `val(fd.name)`."""

    name: str
    args: tuple[Node, ...]
    arg: str | None = None
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class UnaryCheck:
    """A check with no right side (`exists`)."""

    left: FieldRef | Transformer
    op: str
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class BinaryCheck:
    """A comparison; `op` may carry a modifier (`= oneof`, `endswith allof`)."""

    left: FieldRef | Transformer
    op: str
    right: Value | ListValue | Identifier | Transformer
    pos: Position = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Const:
    """A constant truth value (produced by simplification, never by the parser)."""

    value: bool
    pos: Position = field(default=_NOWHERE, compare=False)


Node = (
    And
    | Or
    | Not
    | Identifier
    | Value
    | ListValue
    | TransformerList
    | FieldRef
    | Transformer
    | UnaryCheck
    | BinaryCheck
    | Const
)
