"""A new process's clone event names the process that forked it, also when that parent
exited before the child first ran (a daemon forking itself into the background): the
child is reparented at once, and a context stage given the reaper would copy its image."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stockade.sensor.bpf import BpfSource
from tests.support.sensor import collect_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]

# Each round: a child forks a grandchild and exits at once; prints "child grandchild".
DAEMONIZE = """
import os
for _ in range(20):
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            os._exit(0)
        os.write(1, f"{os.getpid()} {grandchild}\\n".encode())
        os._exit(0)
    os.waitpid(child, 0)
"""


def test_a_daemons_clone_names_the_parent_that_forked_it(bpf_source: BpfSource) -> None:
    bpf_source.poll(0)
    out = subprocess.run([sys.executable, "-c", DAEMONIZE], capture_output=True, check=True)
    forked_by = {
        int(g): int(c) for c, g in (line.split() for line in out.stdout.decode().splitlines())
    }
    assert len(forked_by) == 20
    clones = collect_until(
        bpf_source,
        lambda kept: {e.proc.pid for e in kept} >= forked_by.keys(),
        30,
        "the clone events of the 20 grandchildren",
        keep=lambda e: e.type == "clone" and e.proc.pid in forked_by,
    )
    reported = {e.proc.pid: e.proc.ppid for e in clones}
    assert reported == forked_by
