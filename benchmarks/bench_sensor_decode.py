"""User-space decode throughput of the eBPF sensor, on one core.

Raw ring buffer records are captured from the kernel, poll by poll, while a mixed workload
runs (execs, file opens, socket calls: roughly a host's mix). Each pass replays them as the
agent handles a poll: the poll's records are handed over as fresh bytes, as the ring reader
slices them out of the ring (not timed), `BpfSource.decode` (what `poll` runs: decode and
count) turns them into events, and the context stage enriches them as the agent does
(`ContextStage.enrich_all`), its tree seeded from /proc as the agent does at start (a
host's steady state). Says whether the compiled readers and context loop are in use.
Prints events per CPU second for decode alone and for decode + context, and the same one
record at a time (one `decode` and one `enrich` call per record, the way this benchmark
measured before polls were decoded as a batch).

Goal: >= 300k events/s for decode + context on one core of a machine running the reference
loop at ~14.8 M/s, i.e. <= ~49 reference iterations per event.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from stockade.model import Process
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.decoder import RecordDecoder
from stockade.sensor.procfs import scan

NET_SNIPPET = """
import socket
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
for _ in range(1500):
    socket.create_connection(server.getsockname()).close()
    server.accept()[0].close()
"""
WORKLOAD = "for i in $(seq 300); do /bin/true; cat /etc/hostname >/dev/null; done"


def capture() -> tuple[list[list[bytes]], list[Process]]:
    """Raw records of each poll while the workload runs, and a /proc snapshot before it."""
    source = BpfSource()
    source.start()
    polls: list[list[bytes]] = []
    snapshot = scan()
    try:
        work = [
            subprocess.Popen(["/bin/sh", "-c", WORKLOAD]),
            subprocess.Popen([sys.executable, "-c", NET_SNIPPET]),
        ]
        while any(w.poll() is None for w in work):
            polls.append(source.poll_raw(0.05))
        polls.append(source.poll_raw(0.1))
    finally:
        source.stop()
    return [p for p in polls if p], snapshot


def handed_over(records: list[bytes]) -> list[bytes]:
    """Fresh copies of a poll's records, sliced out of one buffer as the ring reader does."""
    ring = b"".join(records)
    out, at = [], 0
    for rec in records:
        out.append(ring[at : at + len(rec)])
        at += len(rec)
    return out


def rate(
    make: Callable[[], Callable[[list[bytes]], Any]], polls: list[list[bytes]], rounds: int = 9
) -> tuple[float, float]:
    """Median events per CPU second over `rounds` passes, each with a fresh decoder, and
    the median cost of an event in reference-loop iterations (measured next to each pass).

    `make` gives the function that handles one poll's records. CPU time, not wall time:
    the figure is what one core does, even on a busy machine. A fresh decoder per pass
    starts with empty caches, as a stream of this length would. On a loaded VM even CPU
    time stretches (stolen time counts); the cost in reference iterations, measured beside
    each pass, largely cancels that out.
    """
    count = sum(len(p) for p in polls)
    rates, costs = [], []
    for _ in range(rounds):
        reference = reference_loop(500_000) * 1e6
        fn, spent = make(), 0.0
        for records in polls:
            fresh = handed_over(records)
            start = time.thread_time()
            fn(fresh)
            spent += time.thread_time() - start
        rates.append(count / spent)
        costs.append(reference / rates[-1])
    return statistics.median(rates), statistics.median(costs)


def one_at_a_time(handle: Callable[[bytes], Any]) -> Callable[[list[bytes]], Any]:
    """A poll handler calling `handle` once per record (the earlier way of measuring)."""

    def each(records: list[bytes]) -> None:
        for rec in records:
            handle(rec)

    return each


def reference_loop(n: int = 2_000_000) -> float:
    """Millions of `total += i` iterations per CPU second: how fast this core runs Python."""
    start = time.thread_time()
    total = 0
    for i in range(n):
        total += i
    return n / (time.thread_time() - start) / 1e6


def main() -> int:
    """Capture, replay, print figures."""
    if reason := BpfSource.unavailable_reason():
        print(f"sensor_decode: skipped ({reason})")
        return 0
    os.sched_setaffinity(0, {0})  # one core
    polls, snapshot = capture()
    source = BpfSource()  # not started: its decode is what poll runs on the records it reads
    kinds = source.decode([rec for records in polls for rec in records])
    mix = Counter(e.type for e in kinds)
    print(f"records captured: {sum(mix.values())} in {len(polls)} polls")
    print(f"python reference loop: {reference_loop():.1f} M iterations/s (for comparing machines)")
    print("record mix: " + ", ".join(f"{k}={v}" for k, v in sorted(mix.items())))
    print(f"compiled readers: {'yes' if source.compiled_decoder else 'no (pure Python)'}")
    decode_only, decode_cost = rate(lambda: BpfSource().decode, polls)
    print(f"decode rate: {decode_only:.0f} events/s (per CPU second)")
    print(f"decode cost: {decode_cost:.0f} reference iterations/event")
    try:
        from stockade.context import ContainerResolver, ContextStage, ProcessTree
        from stockade.context.podman import PodmanRuntime
    except ImportError:
        return 0

    def stage() -> ContextStage:
        tree = ProcessTree()
        tree.seed(snapshot)
        return ContextStage(tree, ContainerResolver([PodmanRuntime()]))

    print(f"compiled context loop: {'yes' if stage().compiled else 'no (pure Python)'}")

    def pipeline() -> Callable[[list[bytes]], Any]:
        decode, enrich_all = BpfSource().decode, stage().enrich_all
        return lambda records: enrich_all(decode(records))

    with_context, context_cost = rate(pipeline, polls)
    print(f"decode+context rate: {with_context:.0f} events/s (per CPU second)")
    print(f"decode+context cost: {context_cost:.0f} reference iterations/event")

    def per_record() -> Callable[[list[bytes]], Any]:
        decode, enrich = RecordDecoder().decode, stage().enrich
        return one_at_a_time(lambda rec: enrich(decode(rec)))

    single, single_cost = rate(per_record, polls)
    print(f"decode+context one record at a time rate: {single:.0f} events/s (per CPU second)")
    print(f"decode+context one record at a time cost: {single_cost:.0f} reference iterations/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
