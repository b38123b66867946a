"""A burst of 20,000 execs (4 in parallel) is recorded completely, with no kernel drops."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.sensor.bpf import BpfSource

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.slow]

TOTAL, PARALLEL = 20_000, 4


def test_exec_burst_is_complete(bpf_source: BpfSource, tmp_path: Path) -> None:
    binary = tmp_path / f"burst-{uuid.uuid4().hex[:10]}"
    shutil.copy("/bin/true", binary)
    per_worker = TOTAL // PARALLEL
    loop = f'i=0; while [ $i -lt {per_worker} ]; do "{binary}"; i=$((i+1)); done'
    dropped_before = bpf_source.stats().dropped
    bpf_source.poll(0)
    workers = [subprocess.Popen(["/bin/sh", "-c", loop]) for _ in range(PARALLEL)]
    seen = 0
    target = str(binary)
    while any(w.poll() is None for w in workers):
        seen += sum(
            1 for e in bpf_source.poll(0.05) if e.type == "execve" and e.proc.exepath == target
        )
    idle = 0
    while idle < 10:  # drain what the ring still holds (a poll returns a bounded batch)
        batch = bpf_source.poll(0.05)
        idle = 0 if batch else idle + 1
        seen += sum(1 for e in batch if e.type == "execve" and e.proc.exepath == target)
    assert all(w.returncode == 0 for w in workers)
    dropped = bpf_source.stats().dropped - dropped_before
    assert dropped == 0, f"{dropped} lost in the kernel: {bpf_source.drop_reasons()}"
    assert seen == TOTAL
