"""A rule on a syscall that eBPF captures only generically alerts on a real call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stockade.detect.rules import RulesDetector
from tests.support.live import LivePipeline, alerts_for

RULE = """
- rule: Lock taken by the test
  desc: flock has no reader of its own; the sensor reports it as Falco's generic event
  condition: evt.type = flock and evt.arg.ID = flock
  output: lock taken by pid %proc.pid (%evt.arg.ID)
  priority: NOTICE
"""
LOCKER = "import fcntl, os, tempfile\nfcntl.flock(tempfile.TemporaryFile(), fcntl.LOCK_EX)\n"
LOCKER += "print(os.getpid())"


@pytest.mark.root
@pytest.mark.ebpf
def test_a_rule_on_flock_gets_it_attached_and_alerts(tmp_path: Path) -> None:
    path = tmp_path / "flock.yaml"
    path.write_text(RULE)
    detector = RulesDetector.from_paths([path])
    live = LivePipeline([detector])  # the sensor gets what the agent would ask for
    assert "flock" in live.source.generic
    live.start()
    try:
        done = subprocess.run([sys.executable, "-c", LOCKER], check=True, capture_output=True)
        pid = int(done.stdout)
        locks = live.wait_for(
            lambda e: e.type == "flock" and e.proc.pid == pid, f"the flock of pid {pid}"
        )
    finally:
        live.stop()
    alerts = alerts_for(detector, locks)
    assert [a.rule for a in alerts] == ["Lock taken by the test"]
    assert f"lock taken by pid {pid} (flock)" in alerts[0].output
