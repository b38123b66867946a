"""What a scan command does once its command line is read (by typer, or `scan_options`).

Kept apart from typer: `python -m stockade.cli.scan` runs a plain command line through here
without importing typer or click (`scan_options.py`). A wrong value raises `BadValue`,
which the typer commands report as a bad parameter; the exit status is returned.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stockade.cli.scan_options import BadValue
from stockade.cli.scan_outputs import TABLE, Output, plan_outputs
from stockade.scan.locations import DEFAULT_IGNOREFILES, DEFAULT_VULNDB_PATH

if TYPE_CHECKING:  # the scanner is imported when a command runs: keeps start-up fast
    from rich.console import Console

    from stockade.model.inventory import ScanResult
    from stockade.scan.ignore import IgnoreRule
    from stockade.scan.options import ScanOptions
    from stockade.scan.scanner import Progress
    from stockade.scan.vex import VexStatement

FILE_LISTING_FORMATS = ("cyclonedx", "cyclonedx-json")  # SPDX 2.3 files need a SHA-1
KIND_LABEL = {"vulnerability": "vuln", "misconfiguration": "misconfig"}
SEVERITY_STYLE = {  # by Severity name
    "CRITICAL": "bold red",
    "HIGH": "red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
    "UNKNOWN": "dim",
}


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_options(
    *,
    severity: str,
    ignore_unfixed: bool,
    skip_dirs: str,
    scanners: str,
    cache_dir: Path,
    no_cache: bool,
    db: Path | None,
    yara_rules: Path | None,
    secret_config: Path | None,
    lockfiles: bool = False,
    package_files: bool = False,
) -> ScanOptions:
    """ScanOptions from command-line values; BadParameter on unknown names."""
    from stockade.model.inventory import Severity
    from stockade.scan.options import Scanner, ScanOptions

    try:
        chosen = frozenset(Scanner(s) for s in _csv(scanners))
        severities = frozenset(Severity[s.upper()] for s in _csv(severity))
    except (ValueError, KeyError) as e:
        raise BadValue(f"unknown scanner or severity: {e}") from e
    if db is None and Scanner.VULN in chosen:
        db = _default_db()
    if yara_rules is not None:
        chosen |= {Scanner.MALWARE}
    return ScanOptions(
        scanners=chosen,
        skip_dirs=tuple(_csv(skip_dirs)),
        cache_dir=None if no_cache else cache_dir,
        db_path=db,
        yara_rules=yara_rules,
        secret_config=secret_config,
        severities=severities,
        ignore_unfixed=ignore_unfixed,
        lockfiles=lockfiles,
        package_files=package_files,
    )


def _default_db() -> Path:
    """The default database; UsageError when missing (a scan must not pass for want of it)."""
    from stockade.errors import UsageError

    default_db = DEFAULT_VULNDB_PATH.expanduser()
    if not default_db.is_file():
        raise UsageError(
            f"vulnerability scanning needs a database and there is none at {default_db}: "
            "run `stockade db import PATH`, pass --db FILE, or leave vulnerabilities out "
            "with --scanners pkg,secret,misconfig"
        )
    return default_db


def _no_progress(what: str, done: int, total: int) -> None:
    del what, done, total


@contextmanager
def _progress() -> Iterator[Progress]:
    if not sys.stderr.isatty():  # rich is imported only when there is a terminal to draw on
        yield _no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("scanning {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} layers"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("", total=None)

        def report(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield report


def render_table(result: ScanResult, console: Console, list_packages: bool) -> None:
    """The human report: a summary, the findings, and optionally every package."""
    from rich.table import Table

    counts = Counter(p.ecosystem.value for p in result.packages)
    summary = ", ".join(f"{n} {eco}" for eco, n in sorted(counts.items())) or "none"
    console.print(f"[bold]{result.target}[/bold]  os: {result.os or 'unknown'}", soft_wrap=True)
    console.print(f"packages: {summary}; findings: {len(result.findings)}", soft_wrap=True)
    if result.findings:
        table = Table(show_lines=False)
        for column in ("Kind", "ID", "Severity", "Where", "Detail"):
            table.add_column(column, overflow="fold")
        for f in result.findings:
            where = f"{f.path or f.target}" + (f":{f.line}" if f.line else "")
            if f.kind == "vulnerability":
                where = f"{f.target} {f.installed_version} -> {f.fixed_version or '(no fix)'}"
            sev = f"[{SEVERITY_STYLE[f.severity.name]}]{f.severity.name}[/]"
            table.add_row(KIND_LABEL.get(f.kind, f.kind), f.id, sev, where, f.match or f.title)
        console.print(table)
    if list_packages and result.packages:
        packages = Table()
        for column in ("Ecosystem", "Name", "Version", "Path", "Layer"):
            packages.add_column(column, overflow="fold")
        for p in result.packages:
            where = f"{p.path} (lock file)" if p.from_lockfile else p.path
            packages.add_row(p.ecosystem.value, p.name, p.version, where, p.layer.diff_id[:19])
        console.print(packages)
    for hidden in result.suppressed:
        f, why = hidden.finding, hidden.statement or "no reason given"
        vex = [s for s in (hidden.status, hidden.justification) if s and s != "ignored"]
        label = f"suppressed ({', '.join(vex)})" if vex else "suppressed"
        console.print(
            f"[dim]{label}: {f.id} {f.target} ({why}; {hidden.source})[/dim]", soft_wrap=True
        )
    for warning in result.warnings[:20]:
        console.print(f"[dim]warning: {warning}[/dim]")


def _emit(result: ScanResult, output: Output, list_packages: bool) -> None:
    if output.fmt == TABLE:
        from rich.console import Console

        if output.path is None:
            render_table(result, Console(), list_packages)
            return
        with output.path.open("w") as handle:
            render_table(result, Console(file=handle, width=200), list_packages)
        return
    from stockade.scan.output import write

    data = write(result, output.fmt)
    if output.path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.path.write_bytes(data)


def _run(
    scan: Callable[[], ScanResult],
    fmt: str,
    outputs: list[str],
    exit_code: int,
    list_packages: bool,
) -> int:
    from stockade.errors import UsageError

    planned = plan_outputs(fmt, outputs)  # before the scan: a typo should not cost a scan
    result = scan()
    for output in planned:
        try:
            _emit(result, output, list_packages)
        except OSError as e:
            if output.path is None:
                raise  # stdout itself failed: not a mistake in the command line
            raise UsageError(f"cannot write the report to {output.path}: {e.strerror}") from e
    return exit_code if result.findings else 0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a scan runs, and what it built frozen after it.

    A scan builds tens of thousands of objects (modules, listings, results) and next to
    no cycles: the collector would walk the young ones some sixty times for nothing, and
    Python's exit would walk every object still held once more (~30 M instructions after
    a scan of 10k files) although the process frees them all anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _ignore_rules(ignorefile: Path | None) -> list[IgnoreRule]:
    """The rules of --ignorefile, else of a default ignore file here; none without either."""
    if ignorefile is None:
        ignorefile = next((Path(n) for n in DEFAULT_IGNOREFILES if Path(n).is_file()), None)
        if ignorefile is None:
            return []  # the ignore file reader is not even imported
    from stockade.scan.ignore import load_ignorefile

    return load_ignorefile(ignorefile)


def _vex_statements(paths: list[Path]) -> list[VexStatement]:
    """The statements of every --vex document, in the order given (later ones win)."""
    if not paths:
        return []
    from stockade.scan.vex import load_vex

    return [statement for path in paths for statement in load_vex(path)]


def _scan_image(ref: str, options: ScanOptions, report: Progress) -> ScanResult:
    from stockade.scan.scanner import scan_image

    return scan_image(ref, options, report)


def _scan_fs(path: Path, options: ScanOptions, report: Progress) -> ScanResult:
    from stockade.scan.errors import ScanError
    from stockade.scan.scanner import scan_fs

    if not path.is_dir():
        raise ScanError(f"{path}: not a directory")
    return scan_fs(path, options, report)


def _scan_sbom(path: Path, options: ScanOptions, report: Progress) -> ScanResult:
    from stockade.scan.scanner import scan_sbom

    del report  # nothing to walk: the packages are read from one file
    return scan_sbom(path, options)


SCANS: dict[str, Callable[[Any, ScanOptions, Progress], ScanResult]] = {
    "image": _scan_image,
    "fs": _scan_fs,
    "sbom": _scan_sbom,
}


def run_scan(command: str, subject: str | Path, values: dict[str, Any]) -> int:
    """Run scan `command` ("image", "fs", "sbom") on `subject` with the options' `values`
    (by parameter name, as typer passes them); the exit status."""
    values = dict(values)
    fmt, output = values.pop("fmt"), values.pop("output")
    exit_code, list_packages = values.pop("exit_code"), values.pop("list_all_pkgs")
    rules = _ignore_rules(values.pop("ignorefile"))
    statements = _vex_statements(values.pop("vex") or [])  # read before the scan
    # a CycloneDX SBOM lists each package's files with their digests: read the
    # package databases' file lists only when one is written
    sbom = any(o.fmt in FILE_LISTING_FORMATS for o in plan_outputs(fmt, output or []))
    options = build_options(**values, package_files=sbom)
    scan = SCANS[command]

    def run() -> ScanResult:
        with _progress() as report:
            result = scan(subject, options, report)
        if rules:
            from stockade.scan.ignore import apply_ignores

            apply_ignores(result, rules, datetime.now(UTC).date())
        if statements:
            from stockade.scan.vex import apply_vex

            apply_vex(result, statements)
        return result

    with _collector_paused():
        return _run(run, fmt, output or [], exit_code, list_packages)
