"""Evaluating one test of a check against a host or a root directory.

Each test gives (outcome, evidence): True or False, or None when it cannot be evaluated
there (a sysctl under a root directory that has no /proc, a command when the target is
not the live host): its check is then not applicable.
"""

from __future__ import annotations

import glob
import operator
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from stockade.baseline.load import COMPARE
from stockade.baseline.model import Test
from stockade.baseline.walk import find_files

Outcome = tuple[bool | None, str]
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


class Target:
    """Where checks look: a root directory ("/" is the live host: commands may run)."""

    def __init__(self, root: str = "/") -> None:
        self.root = root.rstrip("/") or "/"
        self.live = self.root == "/"

    def path(self, inner: str) -> str:
        """`inner` (an absolute path on the target) as a path here."""
        return inner if self.live else self.root + inner

    def ids(self, db: str) -> dict[str, int]:
        """Names -> ids from the target's /etc/passwd or /etc/group."""
        try:
            lines = Path(self.path(f"/etc/{db}")).read_text().splitlines()
        except OSError:
            return {}
        return {
            f[0]: int(f[2])
            for f in (line.split(":") for line in lines)
            if len(f) > 2 and f[2].isdigit()
        }


def evaluate(test: Test, target: Target) -> Outcome:
    """The outcome of `test` on `target`."""
    return _BY_KIND[test.kind](test, target)


def _value_ok(expect: dict[str, object], value: str) -> Outcome:
    if "equals" in expect:
        ok = value.lower() == str(expect["equals"]).lower()
        return ok, f"value {value!r}, expected {expect['equals']!r}"
    if "in" in expect:
        allowed = [v.lower() for v in _strings(expect["in"])]
        return value.lower() in allowed, f"value {value!r}, expected one of {allowed}"
    if "compare" in expect:
        found = COMPARE.match(str(expect["compare"]))
        assert found is not None  # checked at load
        try:
            number = int(value)
        except ValueError:
            return False, f"value {value!r} is not a number"
        ok = _OPS[found.group(1)](number, int(found.group(2)))
        return ok, f"value {number}, expected {found.group(1)} {found.group(2)}"
    return True, f"value {value!r}"


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, tuple | list) else (str(value),)


def _file(test: Test, target: Target) -> Outcome:
    paths = [p for pattern in test.target for p in sorted(glob.glob(target.path(pattern)))]
    existing = [p for p in paths if os.path.isfile(p)]
    shown = ", ".join(test.target)
    expect = test.expect
    if "exists" in expect:
        return bool(existing) == expect["exists"], f"{shown} {'exists' if existing else 'missing'}"
    if not existing and "default" not in expect:  # absent: nothing to vouch for
        return False, f"{shown} not found"
    for check in (_file_mode, _file_owner):
        outcome = check(expect, existing, target)
        if outcome is not None and outcome[0] is False:
            return outcome
    content = "\n".join(_read(p) for p in existing)
    if "matches" in expect:
        found = re.search(str(expect["matches"]), content, re.MULTILINE)
        return found is not None, f"{shown}: {_shown(found) or 'no line matches'}"
    if "not_matches" in expect:
        found = re.search(str(expect["not_matches"]), content, re.MULTILINE)
        return found is None, f"{shown}: {_shown(found) or 'no line matches'}"
    if "value" in expect:
        found = re.search(str(expect["value"]), content, re.MULTILINE)
        value = found.group(found.lastindex or 0) if found else expect.get("default")
        if value is None:
            return False, f"{shown}: no value set"
        ok, why = _value_ok(expect, str(value).strip())
        return ok, f"{shown}: {why}" + ("" if found else " (default)")
    return True, f"{shown}: as expected"


def _shown(found: re.Match[str] | None) -> str:
    return f"found {found.group(0).strip()!r}" if found else ""


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _file_mode(expect: dict[str, object], paths: list[str], _t: Target) -> Outcome | None:
    if "mode_max" not in expect:
        return None
    limit = int(str(expect["mode_max"]), 8)
    for p in paths:
        mode = os.stat(p).st_mode & 0o7777
        if mode & ~limit:
            return False, f"{p}: mode {mode:04o} is more than {limit:04o}"
    return True, f"mode at most {limit:04o}"


def _file_owner(expect: dict[str, object], paths: list[str], target: Target) -> Outcome | None:
    for key, db, attr in (("owner", "passwd", "st_uid"), ("group", "group", "st_gid")):
        if key not in expect:
            continue
        name = str(expect[key])
        wanted = int(name) if name.isdigit() else target.ids(db).get(name, -1)
        for p in paths:
            actual = getattr(os.stat(p), attr)
            if actual != wanted:
                return False, f"{p}: {key} {actual}, expected {name}"
    return None


def _sysctl(test: Test, target: Target) -> Outcome:
    key = test.target[0]
    try:
        value = Path(target.path("/proc/sys/" + key.replace(".", "/"))).read_text().strip()
    except OSError:
        return None, f"sysctl {key} not readable here"
    ok, why = _value_ok(test.expect, " ".join(value.split()))
    return ok, f"{key}: {why}"


def _command(test: Test, target: Target) -> Outcome:
    if not target.live:
        return None, "commands run on the live host only"
    try:
        done = subprocess.run(list(test.target), capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{test.target[0]}: cannot run: {e}"
    out = (done.stdout + done.stderr).decode(errors="replace")
    if "empty" in test.expect:
        return (out.strip() == "") == test.expect["empty"], f"output: {out.strip()[:200]!r}"
    pattern = str(test.expect.get("matches", test.expect.get("not_matches")))
    found = re.search(pattern, out, re.MULTILINE)
    ok = found is not None if "matches" in test.expect else found is None
    return ok, f"{' '.join(test.target)}: {_shown(found) or 'no line matches'}"


def _process(test: Test, target: Target) -> Outcome:
    proc = Path(target.path("/proc"))
    if not (proc / "self").exists():
        return None, "no /proc to read processes from"
    names = set()
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                names.add((entry / "comm").read_text().strip())
            except OSError:
                continue
    running = test.target[0] in names
    return running == test.expect[
        "running"
    ], f"{test.target[0]} {'running' if running else 'not running'}"


def _files(test: Test, target: Target) -> Outcome:
    kind = str(test.expect["find"])
    exclude = _strings(test.expect.get("exclude", ()))
    users, groups = set(target.ids("passwd").values()), set(target.ids("group").values())
    found = find_files(target.root, test.target, exclude, kind, users, groups)
    sample = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return not found, f"{len(found)} {kind.replace('_', '-')} found" + (
        f": {sample}" if found else ""
    )


_BY_KIND: dict[str, Callable[[Test, Target], Outcome]] = {
    "file": _file,
    "sysctl": _sysctl,
    "command": _command,
    "process": _process,
    "files": _files,
}
