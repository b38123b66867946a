"""The agent's runtime path on real kernel events, for tests that act in real containers.

eBPF sensor -> context stage -> pending containers, as the agent wires them, polled by a
background thread that keeps every enriched event of the current capture. The rules are
applied afterwards, so one capture can be judged by several rule sets.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence

from stockade.agent import pipeline
from stockade.agent.detection import event_types_needed, fd_kinds_needed
from stockade.context.local import local_context_stage
from stockade.context.pending import PendingContainers
from stockade.detect.base import Detector
from stockade.model import Alert, Event
from stockade.sensor.bpf import BpfSource
from tests.support.polling import poll_until


class LivePipeline:
    """A running sensor and context stage; `capture` collects what happens meanwhile."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        types = event_types_needed(detectors)
        self.source = BpfSource(types)
        self.source.set_fd_kinds(fd_kinds_needed(detectors, types))  # as the agent does
        self.context = local_context_stage()
        self._pending = PendingContainers(self.context.resolver)
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-pipeline", daemon=True)
        self._error: BaseException | None = None

    def start(self) -> None:
        """Attach the sensor and start polling."""
        self.source.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and detach the sensor."""
        self._stop.set()
        self._thread.join(10)
        self.source.stop()

    def _run(self) -> None:
        own_pid = os.getpid()
        try:
            while not self._stop.is_set():
                raw = self.source.poll(0.05)
                enriched = self.context.enrich_all(raw)
                ready = self._pending.push(pipeline.without_own_activity(enriched, own_pid))
                with self._lock:
                    self._events += ready
        except BaseException as e:  # surfaced by the test's next call, not lost in a thread
            self._error = e

    def clear(self) -> None:
        """Forget everything the kernel reported until now (the start of a scenario).

        Drains first: an event of the set-up still in the ring buffer must not be
        counted in the scenario that follows.
        """
        self.sync()
        with self._lock:
            self._events = []

    def take(self) -> list[Event]:
        """What was captured since the last `clear` or `take`, forgotten here (long runs)."""
        if self._error is not None:
            raise RuntimeError("the live pipeline stopped") from self._error
        with self._lock:
            taken, self._events = self._events, []
        return taken

    def events(self) -> list[Event]:
        """What was captured since the last `clear`."""
        if self._error is not None:
            raise RuntimeError("the live pipeline stopped") from self._error
        with self._lock:
            return list(self._events)

    def wait_for(
        self, match: Callable[[Event], bool], what: str, timeout_s: float = 30.0
    ) -> list[Event]:
        """Wait until an event matches and return the matches; fails naming `what` in time."""
        return poll_until(lambda: [e for e in self.events() if match(e)], timeout_s, what)

    def sync(self, timeout_s: float = 30.0) -> list[Event]:
        """Everything the kernel reported until now: waits for a marker process's exit.

        The ring buffer keeps the order of reservation, so once the exit of a process
        started now is read, every earlier event has been read too. Events held for
        container metadata are released.
        """
        marker = subprocess.Popen(["true"])
        marker.wait()

        def is_marker(e: Event) -> bool:
            return e.type == "procexit" and e.proc.pid == marker.pid

        self.wait_for(is_marker, f"the sensor to report the marker process {marker.pid}", timeout_s)
        with self._lock:
            self._events += self._pending.flush()
        return self.events()


def alerts_for(
    detector: Detector, events: Iterable[Event], container_id: str | None = None
) -> list[Alert]:
    """The detector's alerts on the events (of one container when `container_id` is given)."""
    alerts: list[Alert] = []
    for event in events:
        if container_id is None or event.container.id == container_id:
            for alert in detector.inspect(event):
                alert.container_id = alert.container_id or event.container.id
                alerts.append(alert)
    return alerts
