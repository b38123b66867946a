"""Image scans on the platform and the agent: store/read costs and the agent's scan subprocess.

Scans the corpus' Debian 12 app image once in-process, then times, over a fresh SQLite
store, storing it under 200 digests (decode + counts + write, as POST /api/v1/scans does),
listing images, and reading one image back; then times the agent's niced
`stockade scan image` subprocess on the same archive (what a new container costs an agent
whose layer cache is cold), interleaved with the executables-only pass the agent runs on
an image the platform already had a scan of (wall time, and the child's CPU time, which
load distorts less). Prints medians as `name: value unit`, with the load average.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec

from benchmarks.corpus import CORPUS
from stockade.agent.image_scan_runner import executables_command, scan_command
from stockade.agent.image_scans import ImageScanRequest
from stockade.platform.services.scans import decode_scan, image_record
from stockade.platform.store import ImageQuery
from stockade.platform.store.sqlite import SqliteStore
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image

IMAGES = 200
ROUNDS = 5


def _median_ms(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _db_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _agent_command(request: ImageScanRequest, cache: Path, archive: Path) -> list[str]:
    """The agent's scan command line, pointed at the archive instead of a podman image."""
    command = scan_command(request, cache, None)
    command[command.index(request.source)] = f"oci-archive:{archive}"
    return command


def _executables_pass(request: ImageScanRequest, cache: Path, archive: Path) -> list[str]:
    """The agent's executables-only pass, pointed at the archive."""
    command = executables_command(request, cache, cache / "executables.msgpack")
    command[command.index(request.source)] = f"oci-archive:{archive}"
    return command


def _timed_child(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def _cold_runs(request: ImageScanRequest, tmp: Path, archive: Path) -> None:
    """The full scan and the executables-only pass on cold caches, interleaved."""
    runs: dict[str, list[tuple[float, float]]] = {"scan": [], "executables": []}
    for i in range(3):
        full = _agent_command(request, tmp / f"cold-{i}", archive)
        runs["scan"].append(_timed_child(full))
        listing = _executables_pass(request, tmp / f"cold-executables-{i}", archive)
        runs["executables"].append(_timed_child(listing))
    load = os.getloadavg()[0]
    for name, label in (
        ("scan", "agent_scan_subprocess"),
        ("executables", "agent_executables_pass"),
    ):
        wall = statistics.median(w for w, _ in runs[name]) * 1000
        cpu = statistics.median(c for _, c in runs[name]) * 1000
        print(f"{label}_cold_cache_median: {wall:.0f} ms (load {load:.1f})")
        print(f"{label}_cold_cache_cpu_median: {cpu:.0f} ms (load {load:.1f})")


def main() -> int:
    """Print the figures."""
    archive = CORPUS / "images" / "debian12-app.oci.tar"
    scanners = frozenset({Scanner.PKG, Scanner.SECRET, Scanner.MISCONFIG})
    result = scan_image(f"oci-archive:{archive}", ScanOptions(scanners=scanners, cache_dir=None))
    body = msgspec.json.encode(result)
    print(f"scan_json_size: {len(body) / 1024:.0f} KiB")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "bench.db"))
        durations = []
        for i in range(IMAGES):
            started = time.perf_counter()
            scan = decode_scan(body)
            scan.image_digest = f"sha256:{i:064x}"
            store.store_scan(image_record(scan, [f"app:{i}"], "", time.time_ns()), scan)
            durations.append(time.perf_counter() - started)
        print(f"store_scan_median: {statistics.median(durations) * 1000:.2f} ms")
        print(f"db_bytes_per_image: {_db_bytes(Path(tmp) / 'bench.db') / IMAGES / 1024:.1f} KiB")
        listing = _median_ms(lambda: store.list_images(ImageQuery(limit=IMAGES)), ROUNDS)
        print(f"list_{IMAGES}_images_median: {listing:.2f} ms")
        detail = _median_ms(lambda: store.get_scan(f"sha256:{7:064x}"), ROUNDS)
        print(f"get_scan_median: {detail:.2f} ms")
        store.close()
        request = ImageScanRequest("sha256:" + "0" * 64, "", "app", "", "podman")
        _cold_runs(request, Path(tmp), archive)
        command = _agent_command(request, Path(tmp) / "cache", archive)
        subprocess.run(command, capture_output=True, check=True)
        warm = _median_ms(lambda: subprocess.run(command, capture_output=True, check=True), 3)
        print(f"agent_scan_subprocess_warm_cache_median: {warm:.0f} ms")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"agent_scan_subprocess_peak_rss: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
