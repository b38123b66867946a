"""Kernel exec -> alert visible in the API: median and p99 latency through `stockade up`.

Starts `stockade up` on a temporary data dir, runs a busybox container and execs an
interactive shell in it repeatedly; for each alert, latency = the moment the alert is first
returned by GET /api/v1/alerts minus the kernel timestamp of the exec (the alert's time).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.podman import BASE_FLAGS, Podman  # noqa: E402
from tests.support.ports import free_port_pair  # noqa: E402
from tests.support.processes import login, start, stop, wait_for_line  # noqa: E402

SAMPLES = 40


def alert_time_s(alert: dict[str, object]) -> float:
    """The alert's event time (RFC 3339 with ns) as epoch seconds."""
    text = str(alert["time"]).replace("Z", "+00:00")
    head, _, frac_tz = text.partition(".")
    frac, tz = frac_tz[:-6], frac_tz[-6:]
    return datetime.fromisoformat(f"{head}{tz}").timestamp() + float(f"0.{frac or '0'}")


def main() -> None:
    """Measure and print the figures."""
    podman = Podman()
    with tempfile.TemporaryDirectory() as tmp:
        image = podman.build_busybox_image(Path(tmp))
        port = free_port_pair()
        # Every exec's own alert is measured: no aggregation of the identical repeats.
        args = ["up", "--data-dir", f"{tmp}/data", "--port", str(port), "--alert-window", "0"]
        up = start(args)
        try:
            url = wait_for_line(up, "Stockade console:").split("console:", 1)[1].strip()
            api = login(url, Path(tmp) / "data")
            container = podman.run_detached(image, "sleep", "3600")
            seen: set[str] = set()
            latencies: list[float] = []
            for _ in range(SAMPLES):
                shell = subprocess.Popen(
                    ["podman", *BASE_FLAGS, "exec", "-i", container, "sh", "-i"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                assert shell.stdin is not None
                shell.stdin.write(b"sleep 1; exit\n")
                shell.stdin.close()
                deadline = time.time() + 10
                while time.time() < deadline:
                    alerts = api.get(
                        "/api/v1/alerts", params={"container": container, "limit": 1000}
                    ).json()["items"]
                    fresh = [
                        a
                        for a in alerts
                        if a["uuid"] not in seen and a["rule"] == "Terminal shell in container"
                    ]
                    if fresh:
                        now = time.time()
                        for alert in fresh:
                            seen.add(alert["uuid"])
                            latencies.append(now - alert_time_s(alert))
                        break
                    time.sleep(0.005)
                shell.wait()
            podman.remove_started()
        finally:
            stop(up)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"exec_to_alert_samples: {len(latencies)}")
    print(f"exec_to_alert_median: {statistics.median(latencies) * 1000:.0f} ms")
    print(f"exec_to_alert_p99: {p99 * 1000:.0f} ms (goal <= 1000 ms)")


if __name__ == "__main__":
    main()
