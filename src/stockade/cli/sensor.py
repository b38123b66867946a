"""Commands for the kernel sensor (sub-app `stockade sensor`): record events, prebuild BPF."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the sensor is imported when a command runs: keeps start-up fast
    from stockade.model import Event

DEFAULT_FIELDS = (
    "evt.type",
    "evt.res",
    "proc.pid",
    "proc.ppid",
    "proc.name",
    "proc.exepath",
    "proc.cmdline",
    "fd.name",
    "container.id",
    "container.full_id",
    "container.image",
)

_FIELDS: dict[str, Callable[[Event], Any]] = {
    "evt.type": lambda e: e.type,
    "evt.rawtime": lambda e: e.ts,
    "evt.res": lambda e: e.res,
    "evt.source": lambda e: e.source,
    "proc.pid": lambda e: e.proc.pid,
    "proc.vpid": lambda e: e.proc.vpid,
    "proc.ppid": lambda e: e.proc.ppid,
    "proc.name": lambda e: e.proc.name,
    "proc.exepath": lambda e: e.proc.exepath,
    "proc.cmdline": lambda e: e.proc.cmdline,
    "proc.cwd": lambda e: e.proc.cwd,
    "proc.tty": lambda e: e.proc.tty,
    "proc.pname": lambda e: e.ancestors[0].name if e.ancestors else None,
    "thread.tid": lambda e: e.proc.tid,
    "user.uid": lambda e: e.proc.euid,
    "user.loginuid": lambda e: e.proc.loginuid,
    "group.gid": lambda e: e.proc.egid,
    "fd.name": lambda e: e.fd.name if e.fd else None,
    "fd.num": lambda e: e.fd.num if e.fd else None,
    "fd.type": lambda e: e.fd.type if e.fd else None,
    "container.id": lambda e: e.container.short_id,
    "container.full_id": lambda e: e.container.id,
    "container.name": lambda e: e.container.name,
    "container.image": lambda e: e.container.image,
    "evt.args": lambda e: e.args,
}


def field_getter(name: str) -> Callable[[Event], Any]:
    """How to read a Falco field from an event; evt.arg.K reads argument K."""
    if name in _FIELDS:
        return _FIELDS[name]
    if name.startswith("evt.arg."):
        key = name.removeprefix("evt.arg.")
        return lambda e: e.args.get(key)
    try:  # the rules' full field table, when it is there
        from stockade.rules.fields import FIELDS

        definition, arg = FIELDS.lookup(name, None)
        return definition.extractor(arg)
    except (ImportError, KeyError, ValueError) as e:
        raise typer.BadParameter(f"unknown field {name!r}") from e


def record(
    duration: Annotated[float, typer.Option(help="Seconds to record (0: until stopped).")] = 0,
    fields: Annotated[str, typer.Option(help="Comma-separated Falco fields.")] = ",".join(
        DEFAULT_FIELDS
    ),
    output: Annotated[Path | None, typer.Option(help="JSON lines file (default stdout).")] = None,
    no_ebpf: Annotated[bool, typer.Option("--no-ebpf", help="Use the fallback sources.")] = False,
) -> None:
    """Print one JSON object per kernel event, keyed by Falco field names."""
    import msgspec

    from stockade.sensor.fallback import choose_source

    getters = [(f, field_getter(f)) for f in fields.split(",") if f]
    choice = choose_source(disabled={"ebpf"} if no_ebpf else ())
    encode = msgspec.json.Encoder().encode
    status = {"source": choice.name, "degraded": choice.degraded}
    sys.stderr.write(encode(status).decode() + "\n")
    from stockade.agent.hostinfo import host_id
    from stockade.context.local import local_context_stage

    enrich = local_context_stage(host_id=host_id(None)).enrich
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    out = output.open("wb") if output else sys.stdout.buffer
    count = 0
    deadline = time.monotonic() + duration if duration > 0 else float("inf")
    try:
        while not stopping and time.monotonic() < deadline:
            lines = []
            for event in choice.source.poll(min(0.2, max(0.0, deadline - time.monotonic()))):
                ev = enrich(event)
                lines.append(encode({name: get(ev) for name, get in getters}) + b"\n")
            out.write(b"".join(lines))
            out.flush()
            count += len(lines)
    finally:
        stats = choice.source.stats()
        choice.source.stop()
        if output:
            out.close()
    sys.stderr.write(encode({"events": count, "dropped": stats.dropped}).decode() + "\n")


def build() -> None:
    """Build (or find cached) the eBPF object for this kernel and print its path."""
    from stockade.sensor.bpf.build import build_object

    typer.echo(str(build_object()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    sensor = typer.Typer(help="The kernel sensor: record events, prebuild the eBPF object.")
    sensor.command("record")(record)
    sensor.command("build")(build)
    app.add_typer(sensor, name="sensor")
