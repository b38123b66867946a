"""The scan commands' options as data, and a parser for plain command lines without typer.

`stockade scan fs|image|sbom` are typer commands built from SCAN_OPTIONS (cli/scan.py).
Importing typer and click is about a sixth of a small tree's whole scan, so
`python -m stockade.cli.scan` (what scripts and the benchmarks run) first tries
`parse_plain`: a command line made only of a command, its one argument and known options,
each with its value, is read here exactly as click would read it. Anything else (help, a
typo, `--`, an option's value that looks like an option, an int that is not one, shell
completion) gives None and is left to typer, which then answers as it always does.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from stockade.cli.errors import CliError
from stockade.errors import USAGE_EXIT
from stockade.scan.locations import DEFAULT_CACHE_DIR

COMMANDS = ("image", "fs", "sbom")  # in the order `stockade scan --help` lists them
COMPLETION_VARIABLE = "_STOCKADE_COMPLETE"  # set by a shell asking typer to complete


class BadValue(CliError):
    """A command-line value is wrong: typer reports it as a bad parameter, with the usage."""

    exit_code = USAGE_EXIT


class ScanOption(NamedTuple):
    """One option every scan command takes, as typer declares it and `parse_plain` reads it."""

    name: str  # the command function's parameter
    flags: tuple[str, ...]
    kind: str  # str, int, flag (bool), path, path? (Path | None), strs and paths (repeatable)
    default: object
    help: str
    show_default: bool = True


SCAN_OPTIONS = (
    ScanOption(
        "fmt",
        ("--format", "-f"),
        "str",
        "table",
        "table, or a report writer (json, trivy-json, sarif, cyclonedx-json, spdx-json, spdx)",
    ),
    ScanOption(
        "output",
        ("--output", "-o"),
        "strs",
        None,
        "FILE (the -f format), FORMAT (to stdout) or FORMAT=FILE; repeat for several",
    ),
    ScanOption(
        "severity",
        ("--severity",),
        "str",
        "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL",
        "Severities to report, e.g. HIGH,CRITICAL",
    ),
    ScanOption("ignore_unfixed", ("--ignore-unfixed",), "flag", False, "Hide unfixed vulns"),
    ScanOption("exit_code", ("--exit-code",), "int", 0, "Exit code when findings remain"),
    ScanOption("skip_dirs", ("--skip-dirs",), "str", "", "Directories to skip, D1,D2"),
    ScanOption(
        "scanners",
        ("--scanners",),
        "str",
        "pkg,vuln,secret,misconfig",
        "pkg,vuln,secret,misconfig,malware",
    ),
    ScanOption("cache_dir", ("--cache-dir",), "path", DEFAULT_CACHE_DIR, "Layer cache directory"),
    ScanOption("no_cache", ("--no-cache",), "flag", False, "Neither read nor write the cache"),
    ScanOption("db", ("--db",), "path?", None, "Vulnerability database file"),
    ScanOption("yara_rules", ("--yara-rules",), "path?", None, "Directory of YARA rules"),
    ScanOption("secret_config", ("--secret-config",), "path?", None, "Secret rules config (YAML)"),
    ScanOption("list_all_pkgs", ("--list-all-pkgs",), "flag", False, "Table: list packages too"),
    ScanOption(
        "lockfiles",
        ("--lockfiles",),
        "flag",
        False,
        "Image scans: list lock files' dependencies too, marked so (scan fs always does)",
    ),
    ScanOption(
        "ignorefile",
        ("--ignorefile",),
        "path?",
        None,
        "Accepted findings (ids a line, or Trivy's YAML shape) "
        "[default: .stockadeignore or .stockadeignore.yaml here]",
        show_default=False,
    ),
    ScanOption(
        "vex",
        ("--vex",),
        "paths",
        None,
        "OpenVEX or CycloneDX VEX document: its not_affected/fixed findings are "
        "reported as suppressed; repeat for several",
    ),
)
_BY_FLAG = {flag: option for option in SCAN_OPTIONS for flag in option.flags}


class PlainCommand(NamedTuple):
    """A scan command line read without typer: the command, its argument, every option."""

    command: str
    subject: str
    values: dict[str, object]


def parse_plain(args: list[str]) -> PlainCommand | None:
    """`args` (after `scan`) read as click reads them; None unless every word is plain."""
    if not args or args[0] not in COMMANDS:
        return None
    values = {o.name: o.default for o in SCAN_OPTIONS}
    subject: str | None = None
    words = iter(args[1:])
    for word in words:
        if not word.startswith("-"):
            if subject is not None or not word:
                return None  # an extra argument: typer says so
            subject = word
            continue
        flag, equals, attached = word.partition("=")
        option = _BY_FLAG.get(flag)
        if option is None or (equals and not flag.startswith("--")):
            return None  # help, unknown, or "-f=x" (click reads "=x" as the value)
        if option.kind == "flag":
            if equals:
                return None  # click refuses a value for a flag
            values[option.name] = True
            continue
        value = attached if equals else next(words, None)
        if not value or (not equals and value.startswith("-")):
            return None
        if not _store(option, value, values):
            return None
    if subject is None:
        return None
    return PlainCommand(args[0], subject, values)


def _store(option: ScanOption, value: str, values: dict[str, object]) -> bool:
    """Convert `value` as typer would and keep it (repeatable options add to a list)."""
    converted: object = value
    if option.kind == "int":
        try:
            converted = int(value)
        except ValueError:
            return False
    elif option.kind != "str" and option.kind != "strs":
        converted = Path(value)
    if option.kind in ("strs", "paths"):
        repeated = values[option.name]
        values[option.name] = [*repeated, converted] if isinstance(repeated, list) else [converted]
    else:
        values[option.name] = converted
    return True
