"""A process killed with SIGKILL after loading the sensor leaves no programs or maps behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.support.polling import poll_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]

_LOADER = """
import sys, time
from stockade.sensor.bpf import BpfSource
source = BpfSource()
source.start()
print(len(source.attached), flush=True)
time.sleep(600)
"""


_PROG_PREFIXES = ("enter_", "exit_", "on_exec", "on_exit", "on_fork")
_MAP_NAMES = {"events", "stashed", "drops", "cfg", "forked_by", "accepted", "closing"}


def _ids(kind: str) -> set[int]:
    """Ids of loaded programs or maps named like the sensor's (bpftool here lacks pids)."""
    out = subprocess.run(
        ["bpftool", "-j", kind, "show"], check=True, capture_output=True, timeout=30
    ).stdout
    return {
        o["id"]
        for o in json.loads(out or b"[]")
        if o.get("name", "").startswith(_PROG_PREFIXES) or o.get("name") in _MAP_NAMES
    }


def test_sigkill_leaves_nothing_loaded() -> None:
    before_progs, before_maps = _ids("prog"), _ids("map")
    child = subprocess.Popen([sys.executable, "-c", _LOADER], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        attached = int(child.stdout.readline() or 0)
        assert attached > 50
        progs, maps = _ids("prog") - before_progs, _ids("map") - before_maps
        assert len(progs) >= attached and len(maps) >= 4
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    poll_until(  # programs and maps are freed after an RCU grace period
        lambda: not (_ids("prog") & progs or _ids("map") & maps),
        10,
        f"programs {sorted(progs)} and maps {sorted(maps)} to be unloaded",
        interval=0.2,
    )
