"""False positives of the default rules and correlations on benign container work.

For STOCKADE_FP_SECONDS (default 300) the real eBPF sensor, context stage, default rules
and default correlations watch: 30 containers started, exec'd into and stopped (busybox
and Debian), a busybox httpd loaded by curl, redis-server loaded by redis-benchmark, busybox
crond running jobs every minute, a C project built again and again with gcc and make,
key-based SSH logins to an sshd container, and `podman build`s whose RUN step installs a
local .deb with dpkg. Prints the alerts per rule and priority and the total at WARNING or
above (goal 0).

Only alerts caused by the workload count: events in its containers, or on the host by a
process the benchmark started (podman, its builds) or whose command line names one of its
containers (conmon, runc). Alerts from other work on the same host are counted apart.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.support.live import LivePipeline
from tests.support.podman import Podman
from tests.support.ssh_image import missing_programs
from tests.support.tools_image import missing_tools

from benchmarks.corpus import CORPUS
from benchmarks.fp_workload import Workload, build_images
from stockade.detect import DetectorConfig
from stockade.detect.base import Detector
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.rules import RulesDetector
from stockade.model import Alert, Ancestor, Event, Process
from stockade.model.alerts import Priority

REPO = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("STOCKADE_FP_SECONDS", "300"))
CONTAINERS = 30
BUILDS = 2
SAMPLES = 3  # outputs printed per rule, to say what fired


class Tally:
    """Alerts counted per (rule, priority), with a few outputs of each rule."""

    def __init__(self, detectors: list[Detector], workload: Workload) -> None:
        self.detectors = detectors
        self.workload = workload
        self.counts: Counter[tuple[str, str]] = Counter()
        self.other: Counter[str] = Counter()
        self.samples: dict[str, list[str]] = {}
        self.events = 0

    def add(self, events: list[Event]) -> None:
        """Run every detector on the events and count what fires."""
        for event in events:
            ours = self._caused_by_workload(event)
            self.events += ours
            for detector in self.detectors:
                for alert in detector.inspect(event):
                    self._count(alert, ours)

    def _count(self, alert: Alert, ours: bool) -> None:
        if not ours:
            self.other[alert.rule] += 1
            return
        self.counts[(alert.rule, alert.priority)] += 1
        shown = self.samples.setdefault(alert.rule, [])
        if len(shown) < SAMPLES:
            shown.append(alert.output)

    def _caused_by_workload(self, event: Event) -> bool:
        if not event.container.is_host:
            return event.container.id in self.workload.ids
        marks = (*self.workload.names, *self.workload.ids)
        lines: list[Process | Ancestor] = [event.proc, *event.ancestors]
        if any(p.pid == os.getpid() for p in lines[1:]):
            return True
        return any(m in arg for p in lines for arg in p.argv for m in marks)

    def warning_or_above(self) -> int:
        """Alerts of the workload at WARNING or more severe."""
        return sum(
            n for (_, prio), n in self.counts.items() if Priority.parse(prio) <= Priority.WARNING
        )


def run(seconds: float, workdir: Path) -> Tally:
    """Run the workload for `seconds` under the live pipeline; returns the tally."""
    podman = Podman()
    workload = Workload(podman, build_images(podman, CORPUS, workdir), workdir)
    rules = RulesDetector.from_config(DetectorConfig())
    detectors: list[Detector] = [rules, CorrelationDetector.from_config(DetectorConfig())]
    tally = Tally(detectors, workload)
    live = LivePipeline(detectors)
    live.start()
    try:
        started = time.monotonic()
        workload.start_services()
        cycled = built = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if cycled < CONTAINERS * elapsed / seconds:
                workload.cycle_container(cycled)
                cycled += 1
            if built < BUILDS * elapsed / seconds:
                workload.start_image_build()
                built += 1
            tally.add(live.take())
            time.sleep(0.5)  # pacing the loop, not waiting for a result
        while cycled < CONTAINERS:
            workload.cycle_container(cycled)
            cycled += 1
        for build in workload.builds:
            build.wait(300)
        live.sync()  # the workload's events are named while its containers still exist
        tally.add(live.take())
    finally:
        workload.stop()
        live.stop()
    return tally


def report(tally: Tally, seconds: float) -> None:
    """Print the figures."""
    print(f"benign workload: {seconds:.0f} s, {tally.events} events of the workload")
    if not tally.counts:
        print("  no alert of any priority from the workload")
    for (rule, priority), n in sorted(tally.counts.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {priority:<13} {rule}")
        for output in tally.samples.get(rule, []):
            print(f"          e.g. {output[:200]}")
    if tally.other:
        other = ", ".join(f"{rule} x{n}" for rule, n in tally.other.most_common(5))
        print(f"  (not counted: alerts from other activity on this host: {other})")
    print(f"false positives at WARNING+: {tally.warning_or_above()} (goal 0)")


def main() -> int:
    """Check what the workload needs, run it, print the counts."""
    if os.geteuid() != 0:
        print("skipped: the eBPF sensor needs root", file=sys.stderr)
        return 0
    if missing := missing_tools() or missing_programs():
        print(f"skipped: {missing}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="stockade-fp-") as workdir:
        tally = run(SECONDS, Path(workdir))
    report(tally, SECONDS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
