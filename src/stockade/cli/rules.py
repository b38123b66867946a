"""Commands for rule files (`stockade rules ...`) and `stockade watch`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer

from stockade.model import Event
from stockade.model.events import decode_jsonl
from stockade.rules import load_rules
from stockade.rules.explain import explain_event
from stockade.rules.fields import FIELDS

RulesOption = Annotated[
    list[Path],
    typer.Option(
        "--rules", "-r", help="Rules file or directory (repeat to load several, in order)."
    ),
]


def validate(
    files: Annotated[list[Path], typer.Argument(help="Rules files, loaded in order.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not list warnings.")] = False,
) -> None:
    """Load rules files; list every error (and warning) as file:line:column code message."""
    ruleset = load_rules(files)
    for error in ruleset.errors:
        typer.echo(f"{error.file}:{error.line}:{error.column}: {error.code}: {error.message}")
    if not quiet:
        for warning in ruleset.warnings:
            typer.echo(
                f"{warning.file}:{warning.line}:{warning.column}: warning {warning.code}: "
                f"{warning.message}",
                err=True,
            )
    if ruleset.errors:
        raise typer.Exit(1)
    enabled = sum(r.enabled for r in ruleset.rules)
    typer.echo(f"ok: {len(ruleset.rules)} rules ({enabled} enabled) in {len(files)} file(s)")


def fields(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the field table: name, type and where the value comes from."""
    table = sorted(FIELDS, key=lambda f: f.name)
    if as_json:
        rows = [
            {"name": f.name, "type": f.type.value, "arg": f.arg.value, "description": f.description}
            for f in table
        ]
        typer.echo(msgspec.json.encode(rows).decode())
        return
    width = max(len(f.name) for f in table) + 6
    for f in table:
        name = f.name + ("[...]" if f.arg.value != "none" else "")
        typer.echo(f"{name:<{width}} {f.type.value:<8} {f.description}")


def _events(path: Path) -> list[Event]:
    data = path.read_bytes()
    try:
        return [msgspec.json.decode(data, type=Event)]
    except msgspec.DecodeError:
        return list(decode_jsonl(data, str(path)))


def explain(
    rules: RulesOption,
    event: Annotated[Path, typer.Option("--event", "-e", help="Event JSON (or JSON Lines).")],
    only: Annotated[
        str | None, typer.Option("--rule", help="Explain only the rule with this name.")
    ] = None,
) -> None:
    """For each candidate rule of each event: which clause decided, with the values seen."""
    ruleset = load_rules(rules)
    for error in ruleset.errors:
        typer.echo(f"{error.file}:{error.line}:{error.column}: {error.code}: {error.message}")
    if ruleset.errors:
        raise typer.Exit(1)
    try:
        events = _events(event)
    except (OSError, msgspec.ValidationError, msgspec.DecodeError) as e:
        typer.echo(f"cannot read event: {e}", err=True)
        raise typer.Exit(2) from e
    for ev in events:
        typer.echo(f"event {ev.type} (proc {ev.proc.name}, seq {ev.seq}):")
        explanations = [x for x in explain_event(ruleset, ev) if only is None or x.rule == only]
        if not explanations:
            typer.echo("  no candidate rule for this event type")
        for x in explanations:
            typer.echo(x.render())


def test(
    tests: Annotated[Path, typer.Argument(help="Rule test file (YAML).")],
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", "-r", help="Rules to test instead of those the file names."),
    ] = None,
) -> None:
    """Run a rule test file; exit 1 when a case fails."""
    from stockade.rules.testing import RuleTestFileError, run_test_file

    try:
        report = run_test_file(tests, rules=rules) if rules else run_test_file(tests)
    except (OSError, RuleTestFileError) as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from e
    typer.echo(report.render())
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    rules = typer.Typer(help="Falco-compatible rules: validate, list fields, explain, test.")
    rules.command("validate")(validate)
    rules.command("fields")(fields)
    rules.command("explain")(explain)
    rules.command("test")(test)
    app.add_typer(rules, name="rules")
