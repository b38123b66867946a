"""What `stockade db import` shows as it works: a bar on a terminal, else a line every 2 s."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stockade.scan.vulndb.importer import ImportProgress

STEP_LABEL = {
    "download": "downloading",
    "unpack": "unpacking",
    "read": "reading advisory files",
    "store": "storing advisories",
}
LINE_INTERVAL = 2.0  # seconds between two lines of the same step
START_DELAY = 1.0  # an import done sooner shows nothing (and an error stays one line)


class LineProgress:
    """Progress as plain lines after `delay` s: a new step at once, else every `interval` s."""

    def __init__(
        self,
        write: Callable[[str], None],
        interval: float = LINE_INTERVAL,
        delay: float = START_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write, self._interval, self._clock = write, interval, clock
        self._step, self._last = "", 0.0
        self._quiet_until = clock() + delay

    def __call__(self, step: str, done: int, total: int) -> None:
        """Report `done` of `total` in `step`, unless a line of this step was written just now."""
        now = self._clock()
        if now < self._quiet_until:
            return
        finished = total > 0 and done == total
        if step == self._step and not finished and now - self._last < self._interval:
            return
        self._step, self._last = step, now
        label = STEP_LABEL.get(step, step)
        self._write(f"{label}: {done}/{total}" if total else f"{label}...")


@contextmanager
def import_progress() -> Iterator[ImportProgress]:
    """A rich bar when stderr is a terminal, else `LineProgress` lines on stderr."""
    if not sys.stderr.isatty():

        def line(text: str) -> None:
            print(text, file=sys.stderr, flush=True)

        yield LineProgress(line, delay=START_DELAY)  # read when called: tests may set it
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as bar:
        task = bar.add_task("", total=None)

        def report(step: str, done: int, total: int) -> None:
            label = STEP_LABEL.get(step, step)
            bar.update(task, description=label, completed=done, total=total or None)

        yield report
