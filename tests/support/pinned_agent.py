"""A real `stockade agent` process with its eBPF sensor pinned, killed and restarted by tests.

Also what those tests observe: the agent's spool read without opening it for writing
(the agent may be running), and marker execs (`/bin/true <tag>-<i>`) to count in it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from stockade.agent import records
from stockade.agent.spool import SEGMENT_SUFFIX
from stockade.model import Event
from stockade.sensor.bpf.pins import unpin
from tests.support.processes import STOCKADE, wait_for_line

READY_TIMEOUT_S = 120
MARKER_EXE = "/bin/true"
# One rule that never fires: the sensor attaches exec and the process lifecycle only, so
# the busy host's other syscalls do not fill the spool that is read.
EXEC_ONLY_RULE = """
- rule: Marker never matches
  desc: makes the agent record execs only
  condition: evt.type = execve and proc.name = no-such-process-name
  output: never
  priority: NOTICE
"""


def write_exec_only_rules(path: Path) -> Path:
    """A rule file that needs execve only (run with the rules detector alone: EXEC_ONLY)."""
    path.write_text(EXEC_ONLY_RULE)
    return path


def exec_only_args(rules: Path) -> list[str]:
    """Agent flags for recording execs only: the rule file, and no other detector."""
    return ["--rules", str(write_exec_only_rules(rules)), "--detector", "rules"]


def fresh_pin_dir() -> Path:
    """A bpffs directory of its own (never the production /sys/fs/bpf/stockade)."""
    return Path("/sys/fs/bpf") / f"stockade-test-{uuid.uuid4().hex[:12]}"


class PinnedAgent:
    """`stockade agent --pin-dir ...` in a child process (no pins: `pin_dir=None`);
    `kill()` is SIGKILL."""

    def __init__(
        self,
        state_dir: Path,
        pin_dir: Path | None,
        server_url: str,
        ca_fingerprint: str,
        token: str,
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir, self.pin_dir = state_dir, pin_dir
        self._args = [
            *STOCKADE,
            "agent",
            "--state-dir",
            str(state_dir),
            "--server",
            server_url,
            "--ca-fingerprint",
            ca_fingerprint,
            *(["--pin-dir", str(pin_dir)] if pin_dir else []),
            "--no-scan-images",
            "-o",
            "agent.inventory=false",
            *extra,
        ]
        self._env = {**os.environ, "STOCKADE_ENROLL_TOKEN": token, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir.parent / f"{state_dir.name}.log"

    def start(self, env: dict[str, str] | None = None) -> float:
        """Start the agent; returns the seconds until it announced that events flow."""
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self._args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self._args, env={**self._env, **(env or {})}, stdout=subprocess.PIPE, stderr=log
            )
        wait_for_line(self.proc, "stockade agent running", READY_TIMEOUT_S)
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL: nothing of the agent runs its shutdown."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        """SIGTERM and wait: a clean stop (the pins stay)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def log(self) -> str:
        """What the agent wrote on stderr (its log), all runs."""
        return self.log_path.read_text(errors="replace")

    def uninstall(self) -> None:
        """Stop if running, then remove the pins (the sensor stops recording)."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        if self.pin_dir is not None:
            unpin(self.pin_dir)


def spooled_events(spool_dir: Path) -> list[Event]:
    """Every event in the spool's segments, read only (the agent may be writing)."""
    found: list[Event] = []
    for path in sorted(spool_dir.glob(f"*{SEGMENT_SUFFIX}")):
        data = path.read_bytes()
        for offset, end, seq, kind in records.scan(data):
            record = records.decode(records.raw(data, offset, end, seq, kind))
            if isinstance(record, Event):
                found.append(record)
    return found


def marker_counts(events: Sequence[Event], tag: str) -> Counter[int]:
    """How often each marker exec `<tag>-<i>` was recorded, by i."""
    counts: Counter[int] = Counter()
    prefix = f"{tag}-"
    for event in events:
        if event.type != "execve" or len(event.proc.argv) < 2:
            continue
        arg = event.proc.argv[1]
        if arg.startswith(prefix):
            counts[int(arg[len(prefix) :])] += 1
    return counts


def start_marker_execs(tag: str, count: int, first: int = 0) -> subprocess.Popen[bytes]:
    """A child that execs `/bin/true <tag>-<i>` for i in first..first+count-1, one by one."""
    loop = (
        "import subprocess\n"
        f"for i in range({first}, {first + count}):\n"
        f"    subprocess.run([{MARKER_EXE!r}, f'{tag}-{{i}}'], check=True)\n"
    )
    return subprocess.Popen([sys.executable, "-c", loop])


def execs_done(child: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    """Wait for a marker child; it must have run every exec."""
    assert child.wait(timeout_s) == 0
