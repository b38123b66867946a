"""`load_rules`: read files in order, collect items, compile, index; never raises on content.

A file with errors is refused whole: the load starts again without it, so none of its
items (nor its appends to earlier files' items) take effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stockade.rules.collector import Collector, ItemError
from stockade.rules.compile_stage import compile_collected
from stockade.rules.fields import FIELDS, FieldTable
from stockade.rules.messages import LoadMessage
from stockade.rules.reader import RawItem, read_rules
from stockade.rules.requirements import check_engine_version, check_plugin_versions
from stockade.rules.rule_items import apply_rule
from stockade.rules.ruleset import Matching, Ruleset


def _documents(
    paths: Sequence[Path | str], sources: Sequence[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[LoadMessage]]:
    docs: list[tuple[str, str]] = []
    errors: list[LoadMessage] = []
    for raw in paths:
        path = Path(raw)
        files = (
            sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if path.is_dir()
            else [path]
        )
        for f in files:
            try:
                docs.append((str(f), f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as e:
                errors.append(
                    LoadMessage(
                        "LOAD_ERR_FILE_READ", f"cannot read rules file: {e}", str(f), 1, 1, ""
                    )
                )
    docs.extend(sources)
    return docs, errors


def _apply(c: Collector, item: RawItem, warnings: list[LoadMessage]) -> None:
    if item.kind == "list":
        c.apply_list(item, warnings)
    elif item.kind == "macro":
        c.apply_macro(item, warnings)
    elif item.kind == "rule":
        apply_rule(c, item, warnings)
    elif item.kind == "required_engine_version":
        check_engine_version(item)
    else:
        check_plugin_versions(item, warnings)


def _collect(
    docs: list[tuple[str, str]], refused: set[str]
) -> tuple[Collector, dict[str, list[LoadMessage]], dict[str, list[LoadMessage]]]:
    """Collect every document not refused; refuse (and roll back) those with errors."""
    c = Collector()
    errors: dict[str, list[LoadMessage]] = {}
    warnings: dict[str, list[LoadMessage]] = {}
    for name, text in docs:
        if name in refused:
            continue
        read = read_rules(text, name)
        file_errors, file_warnings = list(read.errors), list(read.warnings)
        if not file_errors:
            before = c.snapshot()
            for item in read.items:
                try:
                    _apply(c, item, file_warnings)
                except ItemError as e:
                    file_errors.append(item.origin.message(e.code, str(e)))
                    break
            if file_errors:
                c = before
        warnings[name] = file_warnings
        if file_errors:
            errors[name] = file_errors
    return c, errors, warnings


def load_rules(
    paths: Sequence[Path | str],
    *,
    sources: Sequence[tuple[str, str]] = (),
    matching: Matching = "all",
    fields: FieldTable = FIELDS,
) -> Ruleset:
    """Load rule files (and extra (name, yaml) sources) in order into a compiled Ruleset."""
    docs, read_errors = _documents(paths, sources)
    order = {name: i for i, (name, _) in enumerate(docs)}
    refused: set[str] = set()
    all_errors: dict[str, list[LoadMessage]] = {}
    while True:
        collector, errors, warnings = _collect(docs, refused)
        refused |= set(errors)
        all_errors.update(errors)
        compiled = compile_collected(collector, fields, order, first_only=matching == "first")
        if not compiled.errors_by_file:
            break
        for file, msgs in compiled.errors_by_file.items():
            all_errors.setdefault(file, []).extend(msgs)
            refused.add(file)
    ruleset = Ruleset(matching=matching)
    ruleset.errors = read_errors + [m for name, _ in docs for m in all_errors.get(name, [])]
    ruleset.warnings = [m for name, _ in docs for m in warnings.get(name, [])] + compiled.warnings
    ruleset.rules = compiled.rules
    ruleset.index, ruleset.catchall = compiled.index, compiled.catchall
    ruleset.dispatch = compiled.dispatch
    ruleset.catchall_dispatch = compiled.catchall_dispatch
    return ruleset
