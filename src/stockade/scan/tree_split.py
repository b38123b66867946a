"""Analyze a directory tree in two processes, with exactly the results of one walk.

Reading files and matching secrets is Python work bound to one core, and a scan of a host
root or a dependency tree spends most of its time there: the tree is cut into units (the
files directly in a directory, or a whole subtree), a forked worker and this process take
units from a shared counter until none is left, and the results are put back together in
the order one walk would have met them (so warnings and results do not depend on timing).
A worker that fails leaves its units to this process.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from stockade.scan.analyzers import FileAnalysis
from stockade.scan.digests import FileDigest
from stockade.scan.group import AnalyzerGroup
from stockade.scan.layers import LayerResult, analyze_walk
from stockade.scan.selection import MAX_EXAMPLES, SkippedFiles
from stockade.scan.walker import WalkReport, subdirectories, walk_directory

TARGET_UNITS = 256  # enough for two processes to finish close together
# below this size estimate (directory entries, plus the bytes of files picked by name in
# 4 kB steps: `list_small_tree`), forking, cutting the tree and merging the results cost
# more than the second core saves: a 10k-file node_modules tree is walked in one process,
# a Maven repository of 1k jars in two
SPLIT_MIN_ENTRIES = 20_000
MAX_LISTINGS = 4096  # directories listed to cut the tree


@dataclass(frozen=True, slots=True)
class Unit:
    """The files directly in `rel_dir`, or (with `subtree`) everything under it."""

    rel_dir: str
    subtree: bool


class UnitResult(msgspec.Struct, kw_only=True):
    """What one unit's walk found, as a worker sends it back."""

    index: int
    files: dict[str, FileAnalysis]
    warnings: list[str]
    per_file: list[str]
    counts: dict[str, int]
    examples: dict[str, list[str]]
    caps: dict[str, int]
    digests: dict[str, FileDigest]
    links: dict[str, str]


def may_fork() -> bool:
    """True with two CPUs or more in a process running no other thread (a thread holding
    a lock, the import lock say, at the fork would leave the worker stuck on it)."""
    return cpus() > 1 and threading.active_count() == 1


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def units_of(root: Path, group: AnalyzerGroup) -> list[Unit]:
    """The tree cut into units in walk order: a directory's own files come first, then
    its subdirectories' units, last name first (as the walk pops them)."""
    units = [Unit("", True)]
    at, listed = 0, 0
    while len(units) < TARGET_UNITS and listed < MAX_LISTINGS:
        found = next((i for i in range(at, len(units)) if units[i].subtree), None)
        if found is None:
            found = next((i for i in range(len(units)) if units[i].subtree), None)
            if found is None:
                break
        listed += 1
        unit = units[found]
        subdirs = subdirectories(root, unit.rel_dir, group.limits)
        if subdirs is None:  # walked whole: the walk reports why it cannot be listed
            units[found] = Unit(unit.rel_dir, True)
            at = found + 1
            continue
        units[found : found + 1] = [
            Unit(unit.rel_dir, False),
            *(Unit(d, True) for d in reversed(subdirs)),
        ]
        at = found + 1 + len(subdirs)
    return units


def analyze_unit(root: Path, group: AnalyzerGroup, unit: Unit, index: int) -> UnitResult:
    """Walk one unit and analyze what it selects."""
    report = WalkReport(links={} if group.digests else None)
    skipped = SkippedFiles()
    found = LayerResult(warnings=report.warnings)
    selector = group.selector(seekable=True)
    walk = walk_directory(root, selector, group.limits, report, unit.rel_dir, unit.subtree)
    analyze_walk(walk, group, found, skipped)
    return UnitResult(
        index=index,
        files=found.files,
        digests=found.digests,
        links=report.links or {},
        warnings=report.warnings,
        per_file=skipped.per_file,
        counts=skipped.counts,
        examples=skipped.examples,
        caps=skipped.caps,
    )


def _take_units(
    root: Path, group: AnalyzerGroup, units: list[Unit], counter: Any
) -> list[UnitResult]:
    done: list[UnitResult] = []
    while True:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        if index >= len(units):
            return done
        done.append(analyze_unit(root, group, units[index], index))


def _worker(root: Path, group: AnalyzerGroup, units: list[Unit], counter: Any, pipe: Any) -> None:
    done: list[UnitResult] = []
    try:
        done = _take_units(root, group, units, counter)
    except BaseException:  # noqa: BLE001 - this process redoes whatever is missing
        done = []
    pipe.send_bytes(msgspec.msgpack.encode(done))
    pipe.close()


def analyze_units(root: Path, group: AnalyzerGroup, units: list[Unit]) -> list[UnitResult]:
    """Every unit's result, in unit order, from this process and one forked worker."""
    import multiprocessing  # only for trees large enough to split

    group.analyzers  # noqa: B018 - built before the fork: the worker inherits them
    context = multiprocessing.get_context("fork")
    counter = context.Value("i", 0)
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(target=_worker, args=(root, group, units, counter, sending))
    worker.start()
    sending.close()
    results = {r.index: r for r in _take_units(root, group, units, counter)}
    try:
        theirs = msgspec.msgpack.decode(receiving.recv_bytes(), type=list[UnitResult])
    except (EOFError, OSError, msgspec.DecodeError):
        theirs = []  # the worker died: its units are done again below
    worker.join()
    results.update((r.index, r) for r in theirs)
    return [
        results[i] if i in results else analyze_unit(root, group, unit, i)
        for i, unit in enumerate(units)
    ]


def merged(results: list[UnitResult]) -> LayerResult:
    """Files and warnings as one walk would have them: warnings in walk order, then the
    skipped-file lines (each package file's, then one tally per other analyzer)."""
    files: dict[str, FileAnalysis] = {}
    digests: dict[str, FileDigest] = {}
    links: dict[str, str] = {}
    warnings: list[str] = []
    skipped = SkippedFiles()
    for result in results:
        files.update(result.files)
        digests.update(result.digests)
        links.update(result.links)
        warnings.extend(result.warnings)
        skipped.per_file.extend(result.per_file)
        for name, count in result.counts.items():
            skipped.counts[name] = skipped.counts.get(name, 0) + count
            skipped.caps[name] = result.caps[name]
            examples = skipped.examples.setdefault(name, [])
            examples.extend(result.examples.get(name, [])[: MAX_EXAMPLES - len(examples)])
    return LayerResult(
        files=files,
        digests=digests,
        links=links,
        warnings=[*warnings, *skipped.warnings()],
    )
