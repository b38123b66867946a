"""Stockade's Falco-compatible rule engine.

Staged like Falco's engine: reader (YAML with positions) -> collector (append/override)
-> compiler (lists substituted, exceptions added, macros expanded, generated Python)
-> index (by event type, one generated dispatch function per type).

    ruleset = load_rules(["falco_rules.yaml"], sources=[("extra.yaml", yaml_text)])
    ruleset.errors, ruleset.warnings   # LoadMessage(code, message, file, line, column, item)
    ruleset.rules                      # CompiledRule: name, condition, output, priority, ...
    alerts = ruleset.evaluate(event)   # Falco-shaped stockade.model.Alert list
    parse_condition("proc.name = bash and not fd.name startswith /tmp")  # AST or
                                                                         # RuleSyntaxError

Never raises on bad rule content: a file with errors is refused whole. Field mapping from
`stockade.model.Event` to Falco fields: see `stockade.rules.fields`.
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
