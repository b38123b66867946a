"""`stockade doctor`: which event sources, container runtimes and compiled modules work here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass(frozen=True)
class Check:
    """One capability and whether it can be used here."""

    kind: str
    name: str
    problem: str | None  # None: usable


def source_checks() -> list[Check]:
    """Every event source of the default chain, in order of preference."""
    from stockade.sensor.base import SensorUnavailable
    from stockade.sensor.fallback import DEFAULT_CHAIN, source_class

    ids = dict.fromkeys(i for candidate in DEFAULT_CHAIN for i in candidate)
    checks = []
    for source_id in ids:
        try:
            problem = source_class(source_id).unavailable_reason()
        except SensorUnavailable as e:
            problem = str(e)
        except OSError as e:
            problem = _denied(e)
        checks.append(Check("event source", source_id, problem))
    return checks


def runtime_checks() -> list[Check]:
    """Every container runtime adapter."""
    from stockade.context.runtime import all_runtimes

    checks = []
    for runtime in all_runtimes():
        try:
            problem = runtime.unavailable_reason()
        except OSError as e:  # a store only root may read: say so instead of failing
            problem = _denied(e)
        checks.append(Check("container runtime", runtime.id, problem))
    return checks


def _denied(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    hint = " (run as root)" if isinstance(error, PermissionError) else ""
    return f"cannot check{where}: {error.strerror}{hint}"


def compiled_checks() -> list[Check]:
    """The compiled modules of the hot path (without them the Python code they mirror runs)."""
    from stockade.context import enrich
    from stockade.sensor.bpf import decoder

    missing = "not built (Cython or a C compiler was missing at install): Python runs, slower"
    return [
        Check("compiled code", "eBPF record readers", None if decoder.COMPILED else missing),
        Check("compiled code", "context stage loop", None if enrich.COMPILED else missing),
    ]


def object_check() -> Check:
    """Whether the CO-RE object shipped in the package is used, or built on this host and why.

    Read after `source_checks()`, whose eBPF probe loads the object.
    """
    from stockade.sensor.bpf.shipped import shipped_object
    from stockade.sensor.bpf.source import BpfSource

    problem = shipped_object()[1] or BpfSource.object_fallback
    if problem is not None:
        problem += ": built on this host with clang and bpftool instead"
    return Check("eBPF object", "shipped CO-RE object", problem)


def attach_check() -> Check:
    """Whether the syscall programs run as BPF trampolines, or on syscall tracepoints and why.

    Tracepoints work, but put every task of the host on the kernel's slow syscall path.
    """
    from stockade.sensor.bpf.libbpf import LibbpfError
    from stockade.sensor.bpf.trampoline import attach_mode, trampoline_refusal

    try:
        forced = attach_mode() == "tracepoint"
        problem = "forced by $STOCKADE_BPF_ATTACH" if forced else trampoline_refusal()
    except (LibbpfError, OSError) as e:
        problem = str(e)
    if problem is not None:
        problem += ": syscall tracepoints instead (every syscall of the host pays their cost)"
    return Check("eBPF attach", "BPF trampolines (fentry/fexit)", problem)


def tracepoint_checks(events: Path | None) -> list[Check]:
    """The tracepoints the eBPF programs need that cannot be attached here, and what is lost.

    `events` is the tracefs events directory (None: tracefs is not mounted).
    """
    from stockade.sensor.bpf.coverage import missing_tracepoints

    if events is None:
        return [Check("tracepoints", "tracefs", "not mounted (the eBPF source mounts it)")]
    return [
        Check(
            "tracepoint",
            tracepoint,
            f"cannot be attached: not in this kernel (not captured: {', '.join(types)})",
        )
        for tracepoint, types in sorted(missing_tracepoints(events).items())
    ]


def chosen_source(checks: list[Check]) -> str:
    """The first candidate of the default chain whose parts are all usable."""
    from stockade.sensor.fallback import DEFAULT_CHAIN

    usable = {c.name for c in checks if c.problem is None}
    for candidate in DEFAULT_CHAIN:
        if all(i in usable for i in candidate):
            return "+".join(candidate)
    return "none"


def doctor() -> None:
    """Say which event sources, tracepoints and container runtimes are usable here, and why not."""
    from rich.console import Console
    from rich.table import Table

    from stockade.sensor.bpf.coverage import mounted_events_dir
    from stockade.sensor.fallback import DEFAULT_CHAIN

    sources, runtimes = source_checks(), runtime_checks()
    try:
        tracepoints = tracepoint_checks(mounted_events_dir())
    except OSError as e:  # tracefs is root's
        tracepoints = [Check("tracepoints", "tracefs", _denied(e))]
    table = Table("kind", "name", "status")
    checks = (
        *sources,
        object_check(),
        attach_check(),
        *tracepoints,
        *runtimes,
        *compiled_checks(),
    )
    for check in checks:
        status = "[green]ok[/]" if check.problem is None else f"[red]no[/]: {check.problem}"
        table.add_row(check.kind, check.name, status)
    console = Console()
    console.print(table)
    chosen = chosen_source(sources)
    first = "+".join(DEFAULT_CHAIN[0])
    note = "" if chosen == first else f" (degraded: {first} unavailable)"
    console.print(f"event source the agent will use: [bold]{chosen}[/]{note}")
    if chosen == "none":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `stockade doctor` to the top-level app."""
    app.command()(doctor)
