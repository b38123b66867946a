"""The sensor's events against Falco's table of syscall events (supported-events.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.model import EventType
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.kinds import capture_of, programs_for, syscall_name
from stockade.sensor.bpf.loader import tracefs_events
from stockade.sensor.bpf.syscalls import syscall_numbers
from tests.support.ci import skip_or_fail
from tests.support.sensor import collect_until

_ROW = re.compile(r"^Yes \| `[<>]` \| `(\w+)` \|", re.MULTILINE)
# Falco's own event names that differ from the kernel's (handled by a program of ours).
_FALCO_ALIASES = {"pread": "pread64", "pwrite": "pwrite64", "prlimit": "prlimit64"}


def default_syscall_events(corpus: Path) -> set[str]:
    """The syscall events Falco's table marks `Default: Yes`."""
    text = (corpus / "falco/supported-events.md").read_text()
    syscalls = text.split("## Syscall events", 1)[1].split("\n## ", 1)[0]
    return set(_ROW.findall(syscalls))


def test_every_default_syscall_event_is_captured_or_not_a_syscall_here(corpus: Path) -> None:
    names = default_syscall_events(corpus)
    assert len(names) > 300
    here = syscall_numbers()
    by_capture: dict[str | None, set[str]] = {"own": set(), "generic": set(), None: set()}
    for name in names:
        by_capture[capture_of(name)].add(name)
    # Nothing this machine can call is left out: what is not captured is not a syscall here.
    absent = by_capture[None]
    assert not {n for n in absent if n in here or _FALCO_ALIASES.get(n) in here}
    assert {"dup", "dup2", "dup3", "sendto", "sendmsg", "recvfrom", "recvmsg", "kill", "tkill",
            "tgkill", "prctl", "mmap", "mprotect", "pipe", "pipe2", "socketpair", "getsockopt",
            "truncate", "ftruncate", "fchmodat2"} <= by_capture["own"]  # fmt: skip
    if here:  # x86_64: the generic path covers the rest
        assert {"flock", "umask", "fsconfig", "pidfd_send_signal"} <= by_capture["generic"]
        assert len(by_capture["own"]) + len(by_capture["generic"]) > 300


@pytest.mark.ebpf
@pytest.mark.root
def test_every_own_program_has_a_tracepoint_here() -> None:
    events = tracefs_events()
    assert events is not None
    missing = {
        t.value
        for t in EventType
        if syscall_name(t) is not None
        for p in programs_for(t)
        if p.startswith(("enter_", "exit_")) and not (events / "syscalls" / f"sys_{p}").is_dir()
    }
    # A kernel built without module support has no tracepoints for the module calls.
    no_modules = set() if Path("/proc/modules").exists() else {"init_module", "finit_module"}
    assert missing <= no_modules


@pytest.mark.ebpf
@pytest.mark.root
def test_a_generic_syscall_is_reported_by_name() -> None:
    if not syscall_numbers():
        skip_or_fail("no syscall table for this architecture")
    source = BpfSource({"flock", "umask"}, lifecycle=False)
    assert source.generic == {"flock", "umask"}
    source.start()
    try:
        assert sorted(source.attached) == ["enter_generic", "exit_generic"]
        code = "import fcntl, os, tempfile\nos.umask(0o27)\n"
        code += "fcntl.flock(tempfile.TemporaryFile(), fcntl.LOCK_EX)\nprint(os.getpid())"
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid = int(out.stdout)
        events = collect_until(
            source,
            lambda mine: {e.type for e in mine} >= {"umask", "flock"},
            10,
            f"umask and flock of pid {pid}",
            keep=lambda e: e.proc.pid == pid,
        )
        seen = {e.type: e.args for e in events}
        numbers = syscall_numbers()
        assert seen == {
            "umask": {"ID": "umask", "nativeID": numbers["umask"]},
            "flock": {"ID": "flock", "nativeID": numbers["flock"]},
        }
    finally:
        source.stop()


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="neither an event type nor a syscall"):
        BpfSource({"no_such_call"})
