"""Flag and enum arguments compare by Falco's names (evt.arg) and by number (evt.rawarg)."""

from __future__ import annotations

from typing import Any

import pytest

from stockade.model import Event, Process
from stockade.model.flagnames import RENDERERS, render_flag_arg
from stockade.rules import load_rules

CASES = [
    (
        "ptrace",
        {"request": 16, "pid": 7},
        "evt.arg.request = PTRACE_ATTACH",
        "evt.rawarg.request = 16",
    ),
    ("ptrace", {"request": 0x4206}, "evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE)", None),
    (
        "socket",
        {"domain": 17, "type": 3, "proto": 768},
        "evt.arg.domain = AF_PACKET",
        "evt.rawarg.domain = 17",
    ),
    ("socket", {"domain": 17}, "evt.arg.domain contains AF_PACKET", None),
    ("openat", {"flags": 0o1101}, "evt.arg.flags contains O_CREAT", "evt.rawarg.flags = 577"),
    ("openat", {"flags": 0o101}, "evt.arg.flags = O_WRONLY|O_CREAT", None),
    (
        "chmod",
        {"mode": 0o4755, "filename": "/x"},
        'evt.arg.mode contains "S_ISUID"',
        "evt.rawarg.mode = 2541",
    ),
    ("fchmodat", {"mode": 0o2755}, 'evt.arg.mode contains "S_ISGID"', None),
    (
        "unshare",
        {"flags": 0x20000},
        "evt.arg.flags contains CLONE_NEWNS",
        "evt.rawarg.flags = 131072",
    ),
    ("setns", {"fd": 3, "nstype": 0x40000000}, "evt.arg.nstype = CLONE_NEWNET", None),
    ("mount", {"flags": 4096 | 16384}, "evt.arg.flags contains BIND", None),
    ("bpf", {"cmd": 5}, "evt.arg.cmd = BPF_PROG_LOAD", "evt.rawarg.cmd = 5"),
    ("prctl", {"option": 15}, "evt.arg.option = PR_SET_NAME", None),
    ("kill", {"pid": 1, "sig": 9}, "evt.arg.sig = SIGKILL", "evt.rawarg.sig = 9"),
    ("mprotect", {"prot": 7}, "evt.arg.prot contains PROT_EXEC", None),
    (
        "mmap",
        {"prot": 0, "flags": 0x22},
        "evt.arg.prot = PROT_NONE and evt.arg.flags contains MAP_ANONYMOUS",
        None,
    ),
    (
        "getsockopt",
        {"level": 1, "optname": 4},
        "evt.arg.level = SOL_SOCKET and evt.arg.optname = SO_ERROR",
        None,
    ),
    ("dup3", {"flags": 0o2000000}, "evt.arg.flags = O_CLOEXEC", None),
    ("memfd_create", {"flags": 1}, "evt.arg.flags = MFD_CLOEXEC", None),
]


def _matches(event_type: str, args: dict[str, Any], condition: str) -> bool:
    rule = f"""
- rule: r
  desc: d
  condition: evt.type = {event_type} and {condition}
  output: "%evt.args"
  priority: WARNING
"""
    ruleset = load_rules([], sources=[("inline.yaml", rule)])
    assert ruleset.errors == []
    event = Event(type=event_type, ts=1, proc=Process(pid=1), args=args)
    return bool(ruleset.evaluate(event))


@pytest.mark.parametrize(("event_type", "args", "named", "raw"), CASES, ids=[c[2] for c in CASES])
def test_names_and_raw_numbers_compare(
    event_type: str, args: dict[str, Any], named: str, raw: str | None
) -> None:
    assert _matches(event_type, args, named)
    if raw is not None:
        assert _matches(event_type, args, raw)


def test_unknown_values_and_plain_numbers_render_as_numbers() -> None:
    assert render_flag_arg("ptrace", "request", 999) == "999"
    assert render_flag_arg("ptrace", "pid", 5) is None
    assert render_flag_arg("openat", "flags", 0) == "O_RDONLY"


def test_every_renderer_gives_text_for_zero_and_all_bits() -> None:
    for render in RENDERERS.values():
        assert render(0)
        assert render(0xFFFFFFFF)
