"""Sensor start to first event recorded: the shipped CO-RE object against a host build.

Each run loads the object and attaches the exec programs (what the agent's sensor start
does), then runs /bin/true until the first exec record comes out of the ring buffer.
Three ways to get the object: shipped with the package (compiled once beforehand, as
the package build does), built on the host with an empty cache (a fresh host without
the shipped object: bpftool + clang), and built on the host from its cache (a restart).
Needs root, kernel BTF, libbpf, and clang + bpftool for the package-build step.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stockade.model import EventType
from stockade.sensor.bpf.kinds import programs_for
from stockade.sensor.bpf.loader import LoadedSensor
from stockade.sensor.bpf.shipped import load_object, write_shipped
from stockade.sensor.bpf.source import BpfSource

RUNS = 3
PROGRAMS = {p for t in (EventType.EXECVE, EventType.CLONE) for p in programs_for(t)}


def first_event_seconds(load: Callable[[], LoadedSensor]) -> float:
    """Seconds from the start of `load` to the first record polled after an exec."""
    began = time.perf_counter()
    sensor = load()
    try:
        deadline = began + 60
        while time.perf_counter() < deadline:
            subprocess.run(["/bin/true"], check=True)
            if sensor.poll(100):
                return time.perf_counter() - began
        raise RuntimeError("no event within 60 s")
    finally:
        sensor.close()


def main() -> None:
    """Print the median start-to-first-event time of each way to get the object."""
    logging.getLogger("stockade.sensor.bpf.shipped").setLevel(logging.ERROR)  # host builds: known
    if reason := BpfSource.unavailable_reason():
        print(f"skipped: {reason}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(scratch) / "package"
        package.mkdir()
        write_shipped(package)  # the package build's step, not timed
        warm_cache = Path(scratch) / "warm"

        def shipped() -> LoadedSensor:
            return load_object(lambda o: LoadedSensor(o, PROGRAMS), package_dir=package).value

        def host_build(cache: Path) -> Callable[[], LoadedSensor]:
            empty = Path(scratch) / "none"  # no shipped object: the host builds
            return lambda: (
                load_object(
                    lambda o: LoadedSensor(o, PROGRAMS), package_dir=empty, cache_dir=cache
                ).value
            )

        cases: dict[str, Callable[[int], Callable[[], LoadedSensor]]] = {
            "shipped object": lambda _run: shipped,
            "host build, empty cache": lambda run: host_build(Path(scratch) / f"cold{run}"),
            "host build, cached": lambda _run: host_build(warm_cache),
        }
        host_build(warm_cache)().close()  # fill the warm cache, not timed
        for name, case in cases.items():
            times = [first_event_seconds(case(run)) for run in range(RUNS)]
            print(f"{name:26s} start to first event: {statistics.median(times):6.2f} s (median)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
