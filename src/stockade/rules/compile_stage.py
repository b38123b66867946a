"""Compiler stage: parse, expand, compile and index the collected lists, macros and rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.rules import ast
from stockade.rules.collector import Collector, ItemError, RuleDef
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.errors import ConditionTooLarge, RuleCompileError, RuleSyntaxError
from stockade.rules.evttypes import event_types, too_broad
from stockade.rules.exceptions import validate, with_exceptions
from stockade.rules.expand import Expander
from stockade.rules.fields import FieldTable
from stockade.rules.index import build_index
from stockade.rules.lints import condition_warnings, output_text
from stockade.rules.lists import compile_lists, resolve_lists
from stockade.rules.messages import LoadMessage, Origin
from stockade.rules.output import compile_output
from stockade.rules.parser import parse_condition
from stockade.rules.ruleset import Candidates, CompiledRule, Dispatch, _nothing

SYSCALL_SOURCE = "syscall"


@dataclass(slots=True)
class CompileResult:
    """Compiled rules and index, warnings, and errors grouped by the file to refuse."""

    rules: list[CompiledRule] = field(default_factory=list)
    index: dict[str, Candidates] = field(default_factory=dict)
    catchall: Candidates = ()
    dispatch: dict[str, Dispatch] = field(default_factory=dict)
    catchall_dispatch: Dispatch = _nothing
    warnings: list[LoadMessage] = field(default_factory=list)
    errors_by_file: dict[str, list[LoadMessage]] = field(default_factory=dict)

    def error(self, file: str, message: LoadMessage) -> None:
        """Record an error that refuses `file`."""
        self.errors_by_file.setdefault(file, []).append(message)


def _at(origin: Origin, mark: tuple[int, int], err: RuleSyntaxError) -> Origin:
    line = mark[0] + err.position.line - 1
    column = mark[1] + err.position.column - 1 if err.position.line == 1 else err.position.column
    return Origin(origin.file, line, column, origin.item)


def _parse_macros(
    c: Collector, lists: dict[str, list[str]], used: set[str], out: CompileResult
) -> dict[str, ast.Node]:
    macros: dict[str, ast.Node] = {}
    for name, mdef in c.macros.items():
        try:
            macros[name] = parse_condition(resolve_lists(mdef.condition, lists, used))
        except RuleSyntaxError as e:
            where = _at(mdef.origin, mdef.mark, e)
            out.error(mdef.origin.file, where.message("LOAD_ERR_COMPILE_CONDITION", e.message))
    return macros


def _last_file(rule: RuleDef, order: dict[str, int]) -> str:
    return max(rule.files or {rule.origin.file}, key=lambda f: order.get(f, -1))


def compile_collected(
    c: Collector, table: FieldTable, files: dict[str, int], *, first_only: bool = False
) -> CompileResult:
    """Compile everything the collector holds; errors name the file to refuse."""
    out = CompileResult()
    lists, used_lists = compile_lists(c)
    macros = _parse_macros(c, lists, used_lists, out)
    order = {name: (m.index, m.visibility) for name, m in c.macros.items()}
    expander = Expander(macros, order)
    _bound_macros(c, macros, expander, out)
    compiler = ConditionCompiler(table)
    for rule in c.rules.values():
        if rule.source not in (SYSCALL_SOURCE, ""):
            out.warnings.append(
                rule.origin.message(
                    "LOAD_UNKNOWN_SOURCE", f"Unknown source {rule.source}, skipping"
                )
            )
            continue
        compiled = _compile_rule(rule, table, lists, used_lists, expander, compiler, out, files)
        if compiled is not None:
            out.rules.append(compiled)
    _check_macros(c, macros, expander, out)
    for name, ldef in c.lists.items():
        if name not in used_lists:
            out.warnings.append(
                ldef.origin.message(
                    "LOAD_UNUSED_LIST", "List not referred to by any other rule/macro"
                )
            )
    _index(out, compiler, first_only)
    return out


def _bound_macros(
    c: Collector, macros: dict[str, ast.Node], expander: Expander, out: CompileResult
) -> None:
    """Expand macros in definition order, each once, refusing those past the bounds at
    their own position (a rule using one is refused too)."""
    refused: set[str] = set()
    for name in macros:
        try:
            expander.prepare(name)
        except ConditionTooLarge as e:
            if e.macro and e.macro not in refused:
                refused.add(e.macro)
                origin = c.macros[e.macro].origin
                out.error(origin.file, origin.message(e.code, e.message))
        except RuleCompileError:
            pass  # reported with the rules or macros that use it


def _check_macros(
    c: Collector,
    macros: dict[str, ast.Node],
    expander: Expander,
    out: CompileResult,
) -> None:
    for name, mdef in c.macros.items():
        if name not in macros:
            continue
        if name not in expander.used_macros:
            out.warnings.append(
                mdef.origin.message(
                    "LOAD_UNUSED_MACRO", "Macro not referred to by any other rule/macro"
                )
            )
        if name in expander.used_macros:
            continue  # its fields were checked through the rules using it
        try:
            expander.macro(name)
        except RuleCompileError as e:  # an undefined macro or a reference loop
            out.error(mdef.origin.file, mdef.origin.message(e.code, e.message))


def _compile_rule(
    rule: RuleDef,
    table: FieldTable,
    lists: dict[str, list[str]],
    used_lists: set[str],
    expander: Expander,
    compiler: ConditionCompiler,
    out: CompileResult,
    files: dict[str, int],
) -> CompiledRule | None:
    file = _last_file(rule, files)
    try:
        for ex in rule.exceptions:
            validate(ex, table)
        text = (
            with_exceptions(rule.condition, rule.exceptions) if rule.exceptions else rule.condition
        )
    except ItemError as e:
        out.error(file, rule.origin.message(e.code, str(e)))
        return None
    try:
        tree = parse_condition(resolve_lists(text, lists, used_lists))
    except RuleSyntaxError as e:
        out.error(
            file, _at(rule.origin, rule.mark, e).message("LOAD_ERR_COMPILE_CONDITION", e.message)
        )
        return None
    try:
        expanded = expander.expand(tree)
        out.warnings.extend(condition_warnings(expanded, rule, table))
        predicate = compiler.compile(expanded, rule.name)
        output, output_warnings = output_text(rule)
        formatter = compile_output(output, table, source=rule.source or SYSCALL_SOURCE)
        out.warnings.extend(output_warnings)
    except ItemError as e:
        out.error(file, rule.origin.message(e.code, str(e)))
        return None
    except RuleCompileError as e:
        unknown = _unknown_field(e)
        if rule.skip_if_unknown_filter and unknown:
            out.warnings.append(
                rule.origin.message("LOAD_UNKNOWN_FILTER", f"{e.message} (rule skipped)")
            )
            return None
        code = "LOAD_ERR_COMPILE_CONDITION" if e.code == "LOAD_UNKNOWN_FIELD" else e.code
        out.error(file, rule.origin.message(code, e.message))
        return None
    types = event_types(expanded)
    if too_broad(types) and rule.warn_evttypes:
        out.warnings.append(
            rule.origin.message(
                "LOAD_NO_EVTTYPE",
                "Rule matches too many evt.type values. "
                "This has a significant performance penalty.",
            )
        )
    return CompiledRule(
        name=rule.name,
        condition=rule.condition,
        output=rule.output,
        priority=rule.priority,
        tags=tuple(rule.tags),
        enabled=rule.enabled,
        source=rule.source or SYSCALL_SOURCE,
        event_types=types,
        description=rule.desc,
        tree=expanded,
        predicate=predicate,
        formatter=formatter,
        file=rule.origin.file,
        line=rule.origin.line,
        column=rule.origin.column,
    )


def _index(out: CompileResult, compiler: ConditionCompiler, first_only: bool) -> None:
    built = build_index(out.rules, compiler, first_only=first_only)
    out.index, out.catchall = built.candidates, built.catchall
    out.dispatch, out.catchall_dispatch = built.dispatch, built.catchall_dispatch


def _unknown_field(error: RuleCompileError) -> bool:
    """Whether `error` (or the error it wraps, as an output's does) names an unknown field."""
    cause = error.__cause__
    return error.code == "LOAD_UNKNOWN_FIELD" or (
        isinstance(cause, RuleCompileError) and cause.code == "LOAD_UNKNOWN_FIELD"
    )
