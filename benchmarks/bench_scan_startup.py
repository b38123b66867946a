"""Instructions of `scan fs` on a small tree, where start-up dominates: figures load cannot bend.

A scan of the node_modules tree of `bench_scan_fs.py` (10k files, ~0.2 s) spends half its
instructions starting: importing typer, msgspec, the scanner and its analyzers. Wall time on
a shared machine is noise at that size, so this counts instructions under callgrind
(valgrind), which load does not change: those of the scanning process (its critical path:
it merges and writes after its forked worker ends) and of the worker (counted from the
start of the process it was forked from), and those of a scan of an empty tree (start-up
alone). Medians of RUNS runs ($STOCKADE_BENCH_STARTUP_RUNS, default 3) with PYTHONHASHSEED
fixed. `--compare REV` measures the Stockade of git revision REV the same way, beside it.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_scan import REPO
from benchmarks.bench_scan_fs import load, npm_tree

RUNS = int(os.environ.get("STOCKADE_BENCH_STARTUP_RUNS", "3"))


def instructions(src: Path, tree: Path, work: Path) -> tuple[int, int]:
    """(scanning process, worker) instructions of one `scan fs` of `tree` under callgrind."""
    for old in work.glob("cg.*"):
        old.unlink()
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.%p",
        sys.executable, "-m", "stockade.cli.scan", "fs", str(tree), "--scanners", "pkg,secret",
        "-f", "json", "-o", os.devnull, "--no-cache",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet)
    if process.wait() != 0:
        raise RuntimeError(f"scan of {tree} failed under callgrind")
    counts = {int(f.suffix[1:]): _totals(f) for f in work.glob("cg.*")}
    parent = counts.pop(process.pid)  # valgrind runs the program in its own process
    return parent, max(counts.values(), default=0)


def _totals(profile: Path) -> int:
    for line in profile.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {profile}")


def report(label: str, src: Path, tree: Path, empty: Path, work: Path) -> None:
    """Print the median instruction counts of `label` (the Stockade in `src`)."""
    runs = [instructions(src, tree, work) for _ in range(RUNS)]
    start = statistics.median(instructions(src, empty, work)[0] for _ in range(RUNS))
    parent = statistics.median(r[0] for r in runs)
    worker = statistics.median(r[1] for r in runs)
    print(f"scan_fs_node_modules_{label}: {parent / 1e6:.0f} M instructions scanning process, "
          f"{worker / 1e6:.0f} M worker; empty tree {start / 1e6:.0f} M "
          f"(median of {RUNS}, load {load()})", flush=True)  # fmt: skip


def revision_src(revision: str, tmp: Path) -> Path:
    """The `src` directory of git revision `revision`, unpacked and compiled in `tmp`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    compileall.compile_dir(tmp / "src", quiet=1)
    return tmp / "src"


def main(argv: list[str]) -> int:
    """Measure this checkout (and `--compare REV`'s) on the node_modules tree."""
    tree = npm_tree()
    if shutil.which("valgrind") is None or tree is None:
        print("scan_fs_node_modules: skipped (needs valgrind and npm)")
        return 0
    compileall.compile_dir(REPO / "src" / "stockade", quiet=1)
    with tempfile.TemporaryDirectory(prefix="stockade-bench-startup-") as name:
        tmp = Path(name)
        (tmp / "empty").mkdir()
        if "--compare" in argv:
            revision = argv[argv.index("--compare") + 1]
            report(revision, revision_src(revision, tmp), tree, tmp / "empty", tmp)
        report("here", REPO / "src", tree, tmp / "empty", tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
