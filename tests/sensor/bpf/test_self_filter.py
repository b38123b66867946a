"""The agent's own process is filtered in the kernel; its children are not."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.sensor import Collector

pytestmark = [pytest.mark.ebpf, pytest.mark.root]


def test_own_activity_is_not_recorded(tmp_path: Path, collector: Collector) -> None:
    mine = tmp_path / f"self-{uuid.uuid4().hex[:8]}"
    child = tmp_path / f"child-{uuid.uuid4().hex[:8]}"
    mine.write_text("x")  # opened by the process that loaded the sensor
    subprocess.run(["/bin/sh", "-c", f"echo x > {child}"], check=True)
    seen = collector.wait_for(lambda e: e.fd is not None and e.fd.name == str(child))
    assert seen and seen[0].proc.ppid == os.getpid()
    assert not [e for e in collector.events if e.proc.pid == os.getpid()]
    assert not [e for e in collector.events if e.fd is not None and e.fd.name == str(mine)]
