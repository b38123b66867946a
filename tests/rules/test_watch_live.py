"""`stockade watch` on the real kernel: a real exec raises a Falco JSON alert."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.agent.hostinfo import host_id
from tests.support.polling import poll_until

RULE = """
- rule: Probe exec
  desc: a process named stockprobe started
  condition: evt.type in (execve, execveat) and proc.name = stockprobe
  output: probe started (command=%proc.cmdline)
  priority: WARNING
"""


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.slow
def test_watch_alerts_on_a_real_exec(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE)
    probe = tmp_path / "stockprobe"
    shutil.copy("/bin/true", probe)
    alerts = tmp_path / "alerts.jsonl"
    watch = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "stockade"),
            "watch",
            "-r",
            str(rules),
            "-o",
            str(alerts),
        ],
        stderr=subprocess.PIPE,
    )
    try:

        def alerted() -> bool:
            subprocess.run([str(probe), "--marker"], check=True)
            return alerts.exists() and bool(alerts.read_text().strip())

        # on a timeout the assertion below says more: it shows watch's stderr
        with contextlib.suppress(AssertionError):
            poll_until(
                lambda: watch.poll() is not None or alerted(),
                60,
                "an alert from stockade watch",
                interval=0.5,
            )
    finally:
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=30)
    lines = alerts.read_text().splitlines() if alerts.exists() else []
    assert lines, f"no alert; watch stderr: {err.decode(errors='replace')}"
    alert = json.loads(lines[0])
    assert alert["rule"] == "Probe exec"
    assert alert["output_fields"]["proc.cmdline"].startswith("stockprobe")
    assert alert["priority"] == "Warning"
    assert alert["host_id"] == host_id(None)  # the machine id, as the agent's alerts carry
    assert alert["output_fields"]["container.id"] == "host"
