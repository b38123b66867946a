"""Records keep their bytes where they wrap around the end of the ring's data area.

The reader maps the data area once and joins a wrapped record from its two parts; more
than the ring's size flows through here, so a record straddles the end (unless one of
~650 bytes happens to end exactly there: a chance below 1 %).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.decoder import RecordDecoder

pytestmark = [pytest.mark.ebpf, pytest.mark.root]

RING_BYTES = 1 << 25  # c/common.bpf.h: the events ring
OPENS = 70_000
DEADLINE_S = 240  # below the suite's 300 s test timeout


def test_every_record_survives_wrapping(bpf_source: BpfSource, tmp_path: Path) -> None:
    # A long name makes each openat record ~650 bytes.
    target = tmp_path / ("w" * 60) / ("x" * 60) / f"{uuid.uuid4().hex}.txt"
    target.parent.mkdir(parents=True)
    target.write_text("x")
    marker = target.name.encode()
    # Paced (a pause every 2,000 opens) so a reader slowed by a busy machine keeps up.
    loop = (
        f"import os, time\nfor i in range({OPENS}):\n"
        f"    os.close(os.open({str(target)!r}, os.O_RDONLY))\n"
        "    if i % 2000 == 1999: time.sleep(0.02)\n"
    )
    bpf_source.poll(0)
    dropped_before = bpf_source.stats().dropped
    decoder = RecordDecoder()
    worker = subprocess.Popen([sys.executable, "-c", loop])
    seen = flowed = 0
    # Ends once every open was seen or counted as dropped and the worker is done, or at
    # the deadline (on a busy host the ring is never idle, so that cannot be the end).
    deadline = time.monotonic() + DEADLINE_S
    while (
        worker.poll() is None or seen + bpf_source.stats().dropped - dropped_before < OPENS
    ) and time.monotonic() < deadline:
        records = bpf_source.poll_raw(0.05)
        for rec in records:
            flowed += len(rec) + 8
            if marker in rec:
                ev = decoder.decode(rec)
                if ev.type == "openat":  # the worker's execve names the path too
                    assert ev.fd is not None and ev.fd.name == str(target)
                    seen += 1
    assert worker.returncode == 0
    assert flowed > 1.2 * RING_BYTES, f"only {flowed} bytes flowed; the ring did not wrap"
    # Every record read decoded to the right path (above); a machine busy enough to fill
    # the ring may lose some, which the kernel counts.
    dropped = bpf_source.stats().dropped - dropped_before
    assert OPENS - dropped <= seen <= OPENS
