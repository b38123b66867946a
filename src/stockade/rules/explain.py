"""Explaining evaluation: which clause decided a rule for an event, with the values seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stockade.model import Event
from stockade.rules import ast
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.errors import RulesError
from stockade.rules.fields import FIELDS, FieldTable
from stockade.rules.output import render
from stockade.rules.ruleset import CompiledRule, Ruleset
from stockade.rules.unparse import unparse

_WIDTH = 160
_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError, RulesError)


@dataclass(slots=True)
class Step:
    """One clause on the deciding path: its text, its result and the field values read."""

    text: str
    result: bool
    values: dict[str, Any] = field(default_factory=dict)
    children: list[Step] = field(default_factory=list)

    def lines(self, depth: int = 0) -> list[str]:
        """The step and its deciding children as indented text lines."""
        seen = ", ".join(f"{k}={render(v)!s}" for k, v in self.values.items())
        suffix = f"   [{seen}]" if seen else ""
        text = self.text if len(self.text) <= _WIDTH else self.text[: _WIDTH - 3] + "..."
        out = [f"{'  ' * depth}{'true ' if self.result else 'false'}  {text}{suffix}"]
        for child in self.children:
            out.extend(child.lines(depth + 1))
        return out


@dataclass(slots=True)
class Explanation:
    """The verdict of one rule on one event, and the path of clauses that decided it."""

    rule: str
    matched: bool
    decision: Step

    def render(self) -> str:
        """Human-readable text."""
        head = f"rule '{self.rule}': {'MATCH' if self.matched else 'no match'}"
        return "\n".join([head, *self.decision.lines(1)])


class Explainer:
    """Evaluates rule ASTs clause by clause, keeping the values each check read."""

    def __init__(self, table: FieldTable = FIELDS) -> None:
        self.compiler = ConditionCompiler(table)

    def explain(self, rule: CompiledRule, event: Event) -> Explanation:
        """Why `rule` does or does not match `event`."""
        step = self.step(rule.tree, event)
        return Explanation(rule.name, step.result, step)

    def step(self, node: ast.Node, event: Event) -> Step:
        """The deciding step for `node` (And: first false child; Or: first true child)."""
        if isinstance(node, ast.And | ast.Or):
            want = isinstance(node, ast.Or)
            steps = []
            for child in node.children:
                sub = self.step(child, event)
                steps.append(sub)
                if sub.result == want:
                    return Step(unparse(node), want, children=[sub])
            return Step(unparse(node), not want, children=steps if want else [])
        if isinstance(node, ast.Not):
            sub = self.step(node.child, event)
            return Step(unparse(node), not sub.result, children=[sub])
        return self.leaf(node, event)

    def leaf(self, node: ast.Node, event: Event) -> Step:
        """A check: its result and the values of the fields it reads."""
        values: dict[str, Any] = {}
        for ref in _reads(node):
            try:
                getter, _, _ = self.compiler.builder.build(ref)
                values[unparse(ref)] = getter(event)
            except _ERRORS:
                values[unparse(ref)] = None
        try:
            result = bool(self.compiler.compile(node, "explain")(event))
        except _ERRORS:
            result = False
        return Step(unparse(node), result, values)


def _reads(node: ast.Node) -> list[ast.FieldRef | ast.Transformer]:
    if isinstance(node, ast.UnaryCheck):
        return [node.left]
    if isinstance(node, ast.BinaryCheck):
        reads: list[ast.FieldRef | ast.Transformer] = [node.left]
        if isinstance(node.right, ast.Transformer):
            reads.append(node.right)
        return reads
    return []


def explain_event(ruleset: Ruleset, event: Event, table: FieldTable = FIELDS) -> list[Explanation]:
    """Explanations for every candidate rule of the event's type, in rule order."""
    explainer = Explainer(table)
    return [explainer.explain(rule, event) for rule, _ in ruleset.candidates(event.type)]
