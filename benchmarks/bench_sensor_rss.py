"""Resident memory of a process running the eBPF sensor with every program loaded.

A child process starts `BpfSource` (all default event types), polls and decodes for a
few seconds while a workload runs, then reports its VmRSS and VmHWM. Goal: <= 120 MB.
"""

from __future__ import annotations

import subprocess
import sys

from stockade.sensor.bpf import BpfSource

CHILD = """
import subprocess, sys, time
from stockade.sensor.bpf import BpfSource
source = BpfSource()
source.start()
work = subprocess.Popen(["/bin/sh", "-c", "for i in $(seq 500); do cat /etc/hostname; done"],
                        stdout=subprocess.DEVNULL)
events = 0
end = time.monotonic() + 4
while time.monotonic() < end:
    events += len(source.poll(0.1))
work.wait()
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(len(source.attached), events, status["VmRSS"].split()[0], status["VmHWM"].split()[0])
source.stop()
"""


def main() -> int:
    """Run the child and print its memory figures."""
    if reason := BpfSource.unavailable_reason():
        print(f"sensor_rss: skipped ({reason})")
        return 0
    out = subprocess.run(
        [sys.executable, "-c", CHILD], check=True, capture_output=True, text=True, timeout=120
    ).stdout.split()
    programs, events, rss_kb, hwm_kb = (int(x) for x in out[-4:])
    print(f"programs attached: {programs}")
    print(f"events decoded: {events}")
    print(f"sensor rss: {rss_kb / 1024:.1f} MB")
    print(f"sensor peak rss: {hwm_kb / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
