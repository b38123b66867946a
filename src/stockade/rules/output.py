"""Rule outputs: `%field` substitution as Falco formats it, and the alert's output_fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.errors import RuleCompileError
from stockade.rules.fields import FieldTable
from stockade.rules.transformers import ExtractorBuilder

_TOKEN = re.compile(
    r"%(?:\((?P<paren>[^)]*)\)"
    r"|(?P<field>[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)*)(?:\[(?P<arg>[^\]]*)\])?)"
)
NA = "<NA>"
# What Falco's container plugin adds to the alerts of syscall rules: its suggested output
# fields appended to the text (Falco's default `append_output: suggested_output`), and the
# image in output_fields only (as `extra_fields` would).
SUGGESTED_OUTPUT = (("container_id", "container.id"), ("container_name", "container.name"))
EXTRA_FIELDS = ("container.image.repository", "container.image.tag")


def render(value: Any) -> str:
    """A field value as Falco prints it in an output string."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A compiled output: literal text pieces interleaved with field extractors."""

    text: str
    literals: tuple[str, ...]
    fields: tuple[tuple[str, Callable[[Event], Any]], ...]
    extra: tuple[tuple[str, Callable[[Event], Any]], ...] = ()  # output_fields only

    def format(self, event: Event) -> tuple[str, dict[str, object]]:
        """The substituted text and the output_fields mapping for `event`."""
        values: dict[str, object] = {}
        out = [self.literals[0]]
        for (label, getter), literal in zip(self.fields, self.literals[1:], strict=True):
            try:
                value = getter(event)
            except (AttributeError, IndexError, KeyError, TypeError, ValueError):
                value = None
            if isinstance(value, tuple):
                value = list(value)
            values[label] = value
            out.append(render(value))
            out.append(literal)
        for label, getter in self.extra:
            values[label] = getter(event)
        return "".join(out), values


def with_suggested_output(text: str) -> str:
    """`text` with the container plugin's suggested fields it lacks appended."""
    used = {m.group("field") or (m.group("paren") or "").strip() for m in _TOKEN.finditer(text)}
    extra = " ".join(f"{key}=%{field}" for key, field in SUGGESTED_OUTPUT if field not in used)
    return f"{text.rstrip()} {extra}" if extra else text


def compile_output(text: str, table: FieldTable, *, source: str = "") -> OutputFormat:
    """Compile an output string; unknown fields raise RuleCompileError (LOAD_ERR_COMPILE_OUTPUT).

    For a syscall rule the container fields Falco's container plugin adds come too.
    """
    if source == "syscall":
        text = with_suggested_output(text)
    compiled = _compile(text, table)
    if source != "syscall":
        return compiled
    builder = ExtractorBuilder(table)
    named = {label for label, _ in compiled.fields}
    extra = tuple(
        (name, builder.build(ast.FieldRef(name, None))[0])
        for name in EXTRA_FIELDS
        if name not in named
    )
    return OutputFormat(compiled.text, compiled.literals, compiled.fields, extra)


def _compile(text: str, table: FieldTable) -> OutputFormat:
    builder = ExtractorBuilder(table)
    literals: list[str] = []
    fields: list[tuple[str, Callable[[Event], Any]]] = []
    last = 0
    for m in _TOKEN.finditer(text):
        name = m.group("field") or (m.group("paren") or "").strip()
        arg = m.group("arg")
        literals.append(text[last : m.start()])
        last = m.end()
        try:
            getter, _, _ = builder.build(ast.FieldRef(name, arg))
        except RuleCompileError as e:
            raise RuleCompileError(str(e), "LOAD_ERR_COMPILE_OUTPUT") from e
        fields.append((name if arg is None else f"{name}[{arg}]", getter))
    literals.append(text[last:])
    return OutputFormat(text, tuple(literals), tuple(fields))
