"""Commands for rule files (`stockade rules ...`) and `stockade watch`."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.configured import ConfigFile, command_config
from stockade.cli.rules_remote import add_commands

if TYPE_CHECKING:  # the rule engine is imported when a command runs: keeps start-up fast
    from stockade.agent.aggregate import AlertAggregator
    from stockade.config import StockadeConfig
    from stockade.detect.base import Detector
    from stockade.model import Alert, Event
    from stockade.outputs import AlertOutputs
    from stockade.rules import LoadMessage, Ruleset

FALCO_OPTION = re.compile(r"[A-Za-z_][\w.\[\]-]*=.*")  # `-o json_output=true`, no directory part
RulesOption = Annotated[
    list[Path],
    typer.Option(
        "--rules", "-r", help="Rules file or directory (repeat to load several, in order)."
    ),
]


def _host_warnings(ruleset: Ruleset) -> list[LoadMessage]:
    """Rules needing event types this host's eBPF sensor cannot capture (no tracepoint)."""
    from stockade.rules.capture import uncaptured_warnings
    from stockade.sensor.bpf.coverage import captured_types, mounted_events_dir

    try:
        events = mounted_events_dir()
    except OSError as e:  # tracefs is root's
        events, why = None, f"cannot read {e.filename}: {e.strerror} (run as root)"
    else:
        why = "tracefs is not mounted"
    if events is None:
        typer.echo(f"note: {why}: the check of captured event types was skipped", err=True)
        return []
    return uncaptured_warnings(ruleset.rules, captured_types(events))


def validate(
    files: Annotated[list[Path], typer.Argument(help="Rules files, loaded in order.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not list warnings.")] = False,
    host_check: Annotated[
        bool,
        typer.Option(
            help="Warn about rules needing event types the sensor on this host cannot capture."
        ),
    ] = True,
    correlations: Annotated[
        list[Path] | None,
        typer.Option(
            "--correlations",
            help="Correlation files or directories to check too, the agents' and the "
            "fleet's (`scope: fleet`) (repeatable).",
        ),
    ] = None,
) -> None:
    """Load rules files; list every error (and warning) as file:line:column code message."""
    from stockade.detect.correlation_load import load_correlations
    from stockade.rules import load_rules

    ruleset = load_rules(files)
    correlated = load_correlations(correlations or [])
    for error in [*ruleset.errors, *correlated.errors]:
        typer.echo(f"{error.file}:{error.line}:{error.column}: {error.code}: {error.message}")
    if correlated.errors:
        raise typer.Exit(1)
    if not quiet:
        host = _host_warnings(ruleset) if host_check and not ruleset.errors else []
        for warning in [*ruleset.warnings, *host]:
            typer.echo(
                f"{warning.file}:{warning.line}:{warning.column}: warning {warning.code}: "
                f"{warning.message}",
                err=True,
            )
    if ruleset.errors:
        raise typer.Exit(1)
    enabled = sum(r.enabled for r in ruleset.rules)
    typer.echo(f"ok: {len(ruleset.rules)} rules ({enabled} enabled) in {len(files)} file(s)")
    if correlations:
        fleet = f", {len(correlated.fleet)} fleet correlations" if correlated.fleet else ""
        typer.echo(f"ok: {len(correlated.correlations)} correlations{fleet}")


def fields(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the field table: name, type and where the value comes from."""
    import msgspec

    from stockade.rules.fields import FIELDS

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
    import msgspec

    from stockade.model import Event
    from stockade.model.events import decode_jsonl

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
    import msgspec

    from stockade.errors import UsageError
    from stockade.rules import load_rules
    from stockade.rules.explain import explain_event

    ruleset = load_rules(rules)
    for error in ruleset.errors:
        typer.echo(f"{error.file}:{error.line}:{error.column}: {error.code}: {error.message}")
    if ruleset.errors:
        raise typer.Exit(1)
    try:
        events = _events(event)
    except (OSError, msgspec.ValidationError, msgspec.DecodeError) as e:
        raise UsageError(f"cannot read event {event}: {e}") from e
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
    from stockade.errors import UsageError
    from stockade.rules.testing import run_test_file

    try:
        report = run_test_file(tests, rules=rules) if rules else run_test_file(tests)
    except OSError as e:
        raise UsageError(f"cannot read {e.filename or tests}: {e.strerror}") from e
    typer.echo(report.render())
    if not report.ok:
        raise typer.Exit(1)


def _sensor_types(ruleset: Ruleset, others: frozenset[str] | None) -> frozenset[str]:
    """The sensor event types the rules and the other detectors need, any syscall they
    name included (all but the high-volume ones when a rule or detector is unconstrained)."""
    from stockade.model import EventType
    from stockade.model.events import HIGH_VOLUME_EVENT_TYPES
    from stockade.sensor.fallback import capturable

    if ruleset.catchall or others is None:
        return frozenset(EventType) - HIGH_VOLUME_EVENT_TYPES
    return capturable({*ruleset.dispatch, *others})


def _live_events(
    ruleset: Ruleset,
    others: frozenset[str] | None,
    detectors: Sequence[Detector],
    stop: Callable[[], bool],
) -> Iterator[Event | None]:
    """Enriched live events; None after a quiet poll (time passes for the aggregator).
    I/O calls on descriptors no detector can match are dropped early, as the agent does."""
    from stockade.agent.detection import fd_kinds_needed
    from stockade.agent.hostinfo import host_id
    from stockade.context.local import local_context_stage
    from stockade.sensor.fallback import choose_source

    types = _sensor_types(ruleset, others)
    choice = choose_source(event_types=types, fd_kinds=fd_kinds_needed(detectors, types))
    if choice.degraded:
        typer.echo(f"stockade watch: degraded to {choice.name} ({choice.degraded})", err=True)
    enrich = local_context_stage(host_id=host_id(None)).enrich  # alerts name their host
    try:
        while not stop():
            events = choice.source.poll(0.2)
            if not events:
                yield None
            for event in events:
                yield enrich(event)
    finally:
        choice.source.stop()


def _capture(path: Path) -> list[Event]:
    """The events of a JSON Lines capture; UsageError names the file (and line) when bad."""
    import msgspec

    from stockade.errors import UsageError
    from stockade.model.events import decode_jsonl

    try:
        return list(decode_jsonl(path.read_bytes(), str(path)))
    except OSError as e:
        raise UsageError(f"cannot read capture {path}: {e.strerror}") from e
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise UsageError(str(e)) from e


class _CaptureClock:
    """The time of the capture's event being judged, in seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def follow(self, events: Iterable[Event]) -> Iterator[Event]:
        """`events`, moving the clock to each one's time as it is taken."""
        for event in events:
            self.now = event.ts / 1e9
            yield event


def _write_alerts(
    events: Iterable[Event | None],
    detectors: Sequence[Detector],
    aggregator: AlertAggregator,
    write: Callable[[Alert], None],
    stopping: Callable[[], bool],
) -> None:
    """Judge each event; write alerts as the aggregator releases them, all of them at the end."""
    try:
        for event in events:
            if event is not None:
                for alert in (a for d in detectors for a in d.inspect(event)):
                    for out in aggregator.offer(alert, event.proc.exepath or event.proc.name):
                        write(out)
            for out in aggregator.due():
                write(out)
            if stopping():
                break
    finally:
        for out in aggregator.flush():
            write(out)


WATCH_FLAGS = {"rules": "watch.rules", "alert_window": "watch.alert_window"}


def watch(
    ctx: typer.Context,
    config: ConfigFile = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", "-r", help="Rules files (default: Stockade's default rules)."),
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Alerts file (default stdout); or KEY=VALUE, which sets a configuration key "
            "as Falco's -o does (repeatable).",
        ),
    ] = None,
    replay: Annotated[
        Path | None, typer.Option(help="Judge a JSON Lines capture instead of live events.")
    ] = None,
    duration: Annotated[float, typer.Option(help="Seconds to watch (0: until stopped).")] = 0,
    alert_window: Annotated[
        float | None,
        typer.Option(
            min=0, help="Seconds within which identical alerts print as one (0: off; default 30)."
        ),
    ] = None,
) -> None:
    """Watch this host: sensor, context, rules and correlations; alerts to the outputs
    (default: Falco JSON lines on stdout).

    Identical alerts within the window print once at first, then once with their count.
    """
    from stockade.agent.aggregate import AlertAggregator
    from stockade.detect.base import DetectorConfig
    from stockade.detect.correlation import CorrelationDetector
    from stockade.detect.correlation_load import correlation_paths, load_correlations
    from stockade.detect.rules import RulesDetector
    from stockade.rules import load_rules
    from stockade.rules.default import default_rule_paths
    from stockade.rules.dns import DNS_NAMES

    overrides, alerts = split_output_options(output or [])
    settings = command_config(
        ctx, config, overrides, WATCH_FLAGS, rules=rules, alert_window=alert_window
    )
    DNS_NAMES.use(settings.dns_resolver)  # before the rules name hosts to resolve
    rule_paths = [Path(r) for r in settings.watch.rules]
    ruleset = load_rules(rule_paths or default_rule_paths())
    detector_config = DetectorConfig(rule_paths=tuple(rule_paths))
    correlated = load_correlations(correlation_paths(detector_config))
    for error in [*ruleset.errors, *correlated.errors]:
        typer.echo(f"{error.file}:{error.line}:{error.column}: {error.code}: {error.message}")
    if ruleset.errors or correlated.errors:
        raise typer.Exit(1)
    correlations = CorrelationDetector(correlated.correlations)
    stopping = False
    deadline = time.monotonic() + duration if duration > 0 else float("inf")

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    window = settings.watch.alert_window
    events: Iterable[Event | None]
    detectors: list[Detector] = [RulesDetector(ruleset), correlations]
    if replay is not None:
        clock = _CaptureClock()  # a capture's windows follow its own time, not the wall's
        events = clock.follow(_capture(replay))
        aggregator = AlertAggregator(window, clock=clock)
    else:
        events = _live_events(
            ruleset,
            correlations.event_types(),
            detectors,
            lambda: stopping or time.monotonic() >= deadline,
        )
        aggregator = AlertAggregator(window)
    outputs = watch_outputs(settings, alerts)
    try:
        _write_alerts(events, detectors, aggregator, lambda a: outputs.emit([a]), lambda: stopping)
    finally:
        outputs.close()


def split_output_options(values: Sequence[str]) -> tuple[list[str], Path | None]:
    """`-o` values: Falco's KEY=VALUE settings, and the alerts file (the last path given)."""
    overrides = [v for v in values if FALCO_OPTION.fullmatch(v)]
    paths = [Path(v) for v in values if not FALCO_OPTION.fullmatch(v)]
    return overrides, (paths[-1] if paths else None)


def watch_outputs(settings: StockadeConfig, alerts: Path | None) -> AlertOutputs:
    """The outputs of `watch`: stdout unless the configuration or an alerts file says else."""
    import msgspec

    from stockade.cli.datadir import default_data_root
    from stockade.outputs import open_outputs

    stdout_on = settings.stdout_output.enabled
    if stdout_on is None:
        stdout_on = alerts is None
    changes: dict[str, object] = {
        "stdout_output": msgspec.structs.replace(settings.stdout_output, enabled=stdout_on)
    }
    if alerts is not None:
        changes["file_output"] = msgspec.structs.replace(
            settings.file_output, enabled=True, filename=str(alerts)
        )
    root = Path(settings.data_dir) if settings.data_dir else default_data_root()
    return open_outputs(msgspec.structs.replace(settings, **changes), root / "watch")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    rules = typer.Typer(
        help="Falco-compatible rules: validate, list fields, explain, test; the platform's "
        "custom rules (list, files, show, upload, delete, enable, disable, agents)."
    )
    rules.command("validate")(validate)
    rules.command("fields")(fields)
    rules.command("explain")(explain)
    rules.command("test")(test)
    add_commands(rules)  # the platform's custom rules, through its API
    app.add_typer(rules, name="rules")
    app.command("watch")(watch)
