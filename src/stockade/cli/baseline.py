"""`stockade baseline check`: run baseline policies on this host or a root directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def baseline_check(
    policy: Annotated[
        list[Path] | None, typer.Option(help="Policy file (YAML); default: the shipped ones.")
    ] = None,
    root: Annotated[
        Path, typer.Option(help="Check this root directory instead of the live host.")
    ] = Path("/"),
    show_all: Annotated[bool, typer.Option("--all", help="List passing checks too.")] = False,
) -> None:
    """Run the policies and print failing checks first; exit 1 when any check fails."""
    from stockade.baseline.engine import run_policy
    from stockade.baseline.load import builtin_policies, load_policy
    from stockade.baseline.model import Status
    from stockade.baseline.probes import Target

    policies = [load_policy(p) for p in policy] if policy else builtin_policies()
    failed = 0
    order = {Status.FAIL: 0, Status.PASS: 1, Status.NOT_APPLICABLE: 2}
    for found in policies:
        result = run_policy(found, Target(str(root)))
        failed += result.count(Status.FAIL)
        typer.echo(
            f"{result.policy_name}: score {result.score}% ({result.count(Status.FAIL)} failed, "
            f"{result.count(Status.PASS)} passed, {result.count(Status.NOT_APPLICABLE)} n/a)"
        )
        for check in sorted(result.results, key=lambda r: order[r.status]):
            if check.status is Status.FAIL or show_all:
                typer.echo(f"  {check.status.value:<14} {check.check_id}: {check.evidence}")
                if check.status is Status.FAIL and check.remediation:
                    typer.echo(f"  {'':<14} fix: {check.remediation}")
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    """Add `stockade baseline ...` to the top-level app."""
    group = typer.Typer(help="Security baseline checks.", no_args_is_help=True)
    group.command("check")(baseline_check)
    app.add_typer(group, name="baseline")
