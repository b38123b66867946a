"""Stockade's Falco-compatible rule engine.

Staged like Falco's engine: reader (YAML with positions) -> collector (append/override)
-> compiler (AST, macro and list expansion, generated Python) -> index (by event type).
"""

from __future__ import annotations

from stockade.rules import ast
from stockade.rules.ast import Node
from stockade.rules.errors import Position, RuleCompileError, RulesError, RuleSyntaxError
from stockade.rules.loader import load_rules
from stockade.rules.messages import LoadMessage
from stockade.rules.parser import parse_condition
from stockade.rules.ruleset import CompiledRule, Ruleset

__all__ = [
    "CompiledRule",
    "LoadMessage",
    "Node",
    "Position",
    "RuleCompileError",
    "RuleSyntaxError",
    "RulesError",
    "Ruleset",
    "ast",
    "load_rules",
    "parse_condition",
]
