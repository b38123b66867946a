"""Where a process's resident memory is: /proc/PID/status and smaps, grouped by mapping kind.

`python benchmarks/rss_breakdown.py PID` prints one line of status figures (RssAnon,
RssFile, RssShmem) and the resident KB of each kind of mapping: the main heap, anonymous
mappings (glibc's per-thread arenas, 64 MiB-aligned, counted apart), thread stacks,
BPF maps and ring buffers (anon_inode), shared libraries and Cython extensions, other files.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ARENA_RESERVATION_KB = 64 * 1024  # glibc's per-thread arena (heap_info) size on 64-bit
_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def _kind(name: str) -> str:
    """A mapping's kind from its name (the last field of its smaps header line)."""
    if name == "[heap]":
        return "heap"
    if name.startswith("[stack"):
        return "stack"
    if name.startswith("anon_inode:"):
        return name.removeprefix("anon_inode:")
    if name.startswith("["):
        return "kernel"
    if name.endswith(".so") or ".so." in name:
        return "libraries"
    return "files"


def smaps_by_kind(pid: int) -> Counter[str]:
    """Resident KB per mapping kind, from /proc/PID/smaps."""
    found: Counter[str] = Counter()
    name, start = "", 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if _HEADER.match(line):
            fields = line.split(maxsplit=5)
            name = fields[5].strip() if len(fields) > 5 else ""
            start = int(fields[0].split("-")[0], 16)
        elif line.startswith("Rss:"):
            rss = int(line.split()[1])
            if name:
                found[_kind(name)] += rss
            else:
                # glibc's thread arenas are 64 MiB-aligned; anything else unnamed is mmap'd.
                aligned = start % (ARENA_RESERVATION_KB * 1024) == 0
                found["arenas" if aligned else "anonymous"] += rss
    return found


def status_figures(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, RssShmem and Threads from /proc/PID/status (KB, count)."""
    wanted = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads")
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            found[key] = int(value.split()[0])
    return found


def describe(pid: int) -> str:
    """Two lines: the status figures and the resident MB per mapping kind."""
    status = " ".join(f"{k} {v / 1024:.1f}" if k != "Threads" else f"{k} {v}"
                      for k, v in status_figures(pid).items())  # fmt: skip
    kinds = smaps_by_kind(pid)
    parts = " ".join(f"{k} {v / 1024:.1f}" for k, v in kinds.most_common() if v >= 512)
    return f"  status (MB): {status}\n  smaps (MB): {parts}"


if __name__ == "__main__":
    print(describe(int(sys.argv[1])))
