"""Analyze a directory tree in two processes, with exactly the results of one walk.

Reading files and matching secrets is Python work bound to one core, and a scan of a host
root or a dependency tree spends most of its time there: the tree is cut into units (the
files directly in a directory, or a whole subtree), a forked worker and this process take
units from a pipe of tickets until none is left, and the results are put back together in
the order one walk would have met them (so warnings and results do not depend on timing).
A worker that fails leaves its units to this process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import msgspec

from stockade.scan.analyzers import FileAnalysis
from stockade.scan.digests import FileDigest
from stockade.scan.group import AnalyzerGroup
from stockade.scan.layers import LayerResult, analyze_walk
from stockade.scan.selection import MAX_EXAMPLES, SkippedFiles
from stockade.scan.walker import (
    Listings,
    WalkReport,
    listing_of,
    subdirectories_of,
    walk_directory,
)

TARGET_UNITS = 256  # enough for two processes to finish close together
# below this size estimate (directory entries, plus the bytes of files picked by name in
# 4 kB steps: `list_tree_head`), forking, cutting the tree and merging the results cost
# more than the second core saves: such a tree is walked in one process from the listings
# the estimate made. A larger tree is cut from the listings made up to here (its top
# levels) and each process lists the rest of its own units: listing is work to share too
SPLIT_MIN_ENTRIES = 2_000
MAX_LISTINGS = 4096  # directories listed to cut the tree
MANY_SUBDIRS = 8  # a listed subtree with this many subdirectories is cut once more
TICKET_BYTES = 4  # a unit's number in the pipe the processes take units from
MAX_TICKETS = 8192  # 32 KiB: written whole into an empty pipe (64 KiB) without blocking


class Unit(msgspec.Struct, frozen=True):
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


def units_of(root: Path, group: AnalyzerGroup, listings: Listings) -> list[Unit]:
    """The tree cut into units in walk order: a directory's own files come first, then
    its subdirectories' units, last name first (as the walk pops them). Directories are
    listed once: from `listings`, else listed here and added to them for the walk."""
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
        entries = listings.get(unit.rel_dir)
        if entries is None:
            entries = listing_of(root, unit.rel_dir)
            if entries is None:  # walked whole: the walk reports why it cannot be listed
                units[found] = Unit(unit.rel_dir, True)
                at = found + 1
                continue
            listings[unit.rel_dir] = entries
        subdirs = subdirectories_of(unit.rel_dir, entries, group.limits)
        units[found : found + 1] = _opened(unit.rel_dir, subdirs)
        at = found + 1 + len(subdirs)
    return _cut_listed(units, listings, group)


def _opened(rel_dir: str, subdirs: list[str]) -> list[Unit]:
    """A subtree's unit replaced by its own files and its subdirectories' subtrees, in
    walk order (last name first, as the walk pops them)."""
    return [Unit(rel_dir, False), *(Unit(d, True) for d in reversed(subdirs))]


def _cut_listed(units: list[Unit], listings: Listings, group: AnalyzerGroup) -> list[Unit]:
    """Subtrees already listed that hold many subdirectories (an npm scope) cut once
    more: it costs no listing, and leaves no such subtree to be walked alone at the end."""
    cut: list[Unit] = []
    for unit in units:
        entries = listings.get(unit.rel_dir) if unit.subtree else None
        subdirs = [] if entries is None else subdirectories_of(unit.rel_dir, entries, group.limits)
        if len(subdirs) < MANY_SUBDIRS:
            cut.append(unit)
            continue
        cut += _opened(unit.rel_dir, subdirs)
    return cut


def analyze_unit(
    root: Path, group: AnalyzerGroup, unit: Unit, index: int, listings: Listings | None = None
) -> UnitResult:
    """Walk one unit (from `listings` where they hold its directories) and analyze it."""
    report = WalkReport(links={} if group.digests else None)
    skipped = SkippedFiles()
    found = LayerResult(warnings=report.warnings)
    selector = group.selector(seekable=True)
    walk = walk_directory(
        root, selector, group.limits, report, unit.rel_dir, unit.subtree, listings
    )
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
    root: Path, group: AnalyzerGroup, units: list[Unit], tickets: int, listings: Listings | None
) -> list[UnitResult]:
    """Analyze the units of each ticket read from the `tickets` pipe until it is empty."""
    per_ticket = _units_per_ticket(len(units))
    done: list[UnitResult] = []
    while len(ticket := os.read(tickets, TICKET_BYTES)) == TICKET_BYTES:
        first = int.from_bytes(ticket, "little") * per_ticket
        taken = range(first, min(first + per_ticket, len(units)))
        done.extend(analyze_unit(root, group, units[i], i, listings) for i in taken)
    return done


def _units_per_ticket(units: int) -> int:
    return max(1, -(-units // MAX_TICKETS))


def _worker(
    root: Path, group: AnalyzerGroup, units: list[Unit], tickets: int, listings: Listings | None
) -> bytes:
    try:
        return msgspec.msgpack.encode(_take_units(root, group, units, tickets, listings))
    except BaseException:  # noqa: BLE001 - the scanning process redoes whatever is missing
        return msgspec.msgpack.encode([])


def _fork_worker(
    root: Path, group: AnalyzerGroup, units: list[Unit], tickets: int, listings: Listings | None
) -> tuple[int, int]:
    """(pid, read end of its results) of a forked worker taking tickets like this process."""
    receiving, sending = os.pipe()
    pid = os.fork()
    if pid:
        os.close(sending)
        return pid, receiving
    status = 1
    try:  # the worker: never returns into the caller's code, never runs its exit handlers
        os.close(receiving)
        with os.fdopen(sending, "wb") as results:
            results.write(_worker(root, group, units, tickets, listings))
        status = 0
    finally:
        os._exit(status)


def analyze_units(
    root: Path, group: AnalyzerGroup, units: list[Unit], listings: Listings | None = None
) -> list[UnitResult]:
    """Every unit's result, in unit order, from this process and one forked worker (both
    walk from `listings`, the worker from its copy, where they hold a directory).

    Units are handed out as tickets in a pipe (a read of a few bytes from a pipe is
    atomic): os.fork and two pipes, not multiprocessing, whose import and shared counter
    cost as much CPU as walking a few thousand files."""
    group.analyzers  # noqa: B018 - built before the fork: the worker inherits them
    taking, handing = os.pipe()
    count = -(-len(units) // _units_per_ticket(len(units)))
    os.write(handing, b"".join(n.to_bytes(TICKET_BYTES, "little") for n in range(count)))
    os.close(handing)  # the pipe empties, then reads return nothing: every unit is taken
    try:
        pid, receiving = _fork_worker(root, group, units, taking, listings)
    except OSError:
        os.close(taking)
        raise
    try:
        results = {r.index: r for r in _take_units(root, group, units, taking, listings)}
    finally:  # the worker ends once the tickets run out: wait for it whatever happened here
        os.close(taking)
        with os.fdopen(receiving, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
    try:
        theirs = msgspec.msgpack.decode(data, type=list[UnitResult])
    except msgspec.DecodeError:
        theirs = []  # the worker died: its units are done again below
    results.update((r.index, r) for r in theirs)
    return [
        results[i] if i in results else analyze_unit(root, group, unit, i, listings)
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
