"""Alert output throughput: alerts/s from `emit` to a local receiver, per output type.

Each receiver (tests/support: a syslog listener parsing RFC 5424 and CEF, falcosidekick's,
Splunk HEC's event and ack endpoints, a webhook verifying HMAC signatures) runs in its
own process; this one emits rounds of alerts in batches of 100 (as the agent's pipeline
hands them over) through the real output, its on-disk queue included, and times until
the receiver has taken them all. The syslog and falcosidekick receivers frame every
message or request and fully check one in PARSE_EVERY (a Python receiver checking each
would measure itself, not the output). Prints the median of the rounds per output, and
the sender's CPU time per alert (which load on the machine does not distort) beside the
load average; the goal is 10,000 alerts/s or more for syslog over TCP and for HTTP.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import msgspec  # noqa: E402

from stockade.model import Alert  # noqa: E402
from stockade.outputs import open_outputs  # noqa: E402
from stockade.outputs.settings import (  # noqa: E402
    FileOutput,
    HttpOutput,
    OutputSettings,
    OutputsQueue,
    SplunkHecOutput,
    SyslogOutput,
    WebhookOutput,
)

ROUNDS = 5
BATCH = 100
ALERTS: dict[str, int] = {}  # alerts per round by output type, when not DEFAULT_ALERTS
DEFAULT_ALERTS = 20_000
ROUND_TIMEOUT_S = 120
PARSE_EVERY = 20
TOKEN = "bench-token"
SECRET = "bench-secret"
KINDS = ("file", "syslog-udp", "syslog-tcp", "syslog-tls", "http", "splunk_hec", "webhook")


def _alert(n: int) -> Alert:
    return Alert(
        uuid=f"00000000-0000-0000-0000-{n:012d}",
        output=f"12:00:00.{n % 10**9:09d}: Warning Shell spawned in a container "
        f"(user=root container_id=c0ffee proc.name=bash proc.cmdline=bash -i n={n})",
        priority="Warning",
        rule="Terminal shell in container",
        time=f"2026-12-06T12:00:00.{n % 10**9:09d}Z",
        output_fields={
            "proc.name": "bash",
            "user.name": "root",
            "proc.pid": n,
            "proc.cmdline": "bash -i",
            "container.id": "c0ffee",
        },  # fmt: skip
        tags=["container", "shell", "mitre_execution"],
        hostname="node-1",
        host_id="host-1",
        container_id="c0ffee" * 10 + "abcd",
        seq=n,
    )


def _receiver(kind: str, pki: str) -> Any:
    from tests.support.framing_receiver import FramingFalcosidekickReceiver
    from tests.support.http_receivers import HecReceiver, WebhookReceiver
    from tests.support.syslog_receiver import SyslogReceiver

    from stockade.platform.pki import CertificateAuthority

    if kind.startswith("syslog-"):
        tls = CertificateAuthority.load_or_create(Path(pki)).server_tls()
        protocol = kind.removeprefix("syslog-")
        # frames every message, parses one in PARSE_EVERY: the receiver keeps up with the output
        return SyslogReceiver(
            protocol, cert=tls.cert_path, key=tls.key_path, parse_every=PARSE_EVERY
        )
    if kind == "http":  # frames every request, checks one in PARSE_EVERY, as syslog's does
        return FramingFalcosidekickReceiver(parse_every=PARSE_EVERY)
    if kind == "splunk_hec":
        return HecReceiver(TOKEN)
    return WebhookReceiver(SECRET)


def _received(receiver: Any) -> int:
    if hasattr(receiver, "frames"):
        assert not receiver.errors, receiver.errors[:3]
        return int(receiver.frames)
    for name in ("events", "alerts"):
        if hasattr(receiver, name):
            return len(getattr(receiver, name))
    raise AssertionError(f"{receiver!r} keeps nothing countable")


def _serve(
    kind: str, pki: str, port: Synchronized[int], count: Synchronized[int], stop: Event
) -> None:
    """The receiver's process: serve, and publish how many alerts it has parsed."""
    receiver = _receiver(kind, pki).start()
    port.value = receiver.port
    while not stop.wait(0.005):
        count.value = _received(receiver)
    receiver.stop()


def _settings(kind: str, port: int, work: Path) -> OutputSettings:
    queue = OutputsQueue(directory=str(work / "queues"), retry_initial=0.05, retry_max=1.0)
    base = OutputSettings(outputs_queue=queue)
    url = f"http://127.0.0.1:{port}"
    ca = str(work / "pki" / "ca.crt")
    by_kind: dict[str, dict[str, object]] = {
        "file": {"file_output": FileOutput(enabled=True, filename=str(work / "alerts.json"))},
        "http": {"http_output": HttpOutput(enabled=True, url=url + "/")},
        "splunk_hec": {"splunk_hec_output": SplunkHecOutput(enabled=True, url=url, token=TOKEN)},
        "webhook": {"webhook_output": WebhookOutput(enabled=True, url=url, secret=SECRET)},
    }
    changes = by_kind.get(kind) or {
        "syslog_output": SyslogOutput(
            enabled=True,
            host="127.0.0.1",
            port=port,
            protocol=kind.removeprefix("syslog-"),
            ca_cert=ca,
        )  # fmt: skip
    }
    return msgspec.structs.replace(base, **changes)


def _round(
    kind: str, port: int, count: Synchronized[int] | None, work: Path, n: int
) -> tuple[float, float]:
    """Alerts/s of one round (emit `n` alerts, wait until all were received) and the
    sender's CPU µs per alert (this process: `emit` and the output's thread; load-proof)."""
    outputs = open_outputs(_settings(kind, port, work), work)
    alerts = [_alert(i) for i in range(n)]
    before = count.value if count is not None else 0
    cpu = time.process_time()
    started = time.perf_counter()
    for i in range(0, n, BATCH):
        outputs.emit(alerts[i : i + BATCH])
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    if count is None:  # the file output writes as it is handed the alerts
        done = n
    else:
        while (done := count.value - before) < n and time.monotonic() < deadline:
            time.sleep(0.001)
            if kind == "syslog-udp" and outputs.stats()["syslog"].queued == 0:
                deadline = min(deadline, time.monotonic() + 1.0)  # the rest was lost
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    outputs.close()
    if done < n:
        print(f"   {kind}: {n - done} of {n} alerts not received", flush=True)
    return done / elapsed, cpu * 1e6 / n


def bench(kind: str, work: Path) -> list[tuple[float, float]]:
    """The rates of ROUNDS rounds of `kind`."""
    n = ALERTS.get(kind, DEFAULT_ALERTS)
    if kind == "file":
        return [_round(kind, 0, None, work, n) for _ in range(ROUNDS)]
    context = multiprocessing.get_context("spawn")
    port, count, stop = context.Value("i", 0), context.Value("q", 0), context.Event()
    child = context.Process(target=_serve, args=(kind, str(work / "pki"), port, count, stop))
    child.start()
    try:
        while port.value == 0:
            if not child.is_alive():
                raise SystemExit(f"the {kind} receiver did not start")
            time.sleep(0.01)
        return [_round(kind, port.value, count, work, n) for _ in range(ROUNDS)]
    finally:
        stop.set()
        child.join(30)


def main() -> None:
    """Print the median alerts/s per output type."""
    with tempfile.TemporaryDirectory(prefix="stockade-bench-outputs-") as tmp:
        work = Path(tmp)
        from stockade.platform.pki import CertificateAuthority

        CertificateAuthority.load_or_create(work / "pki").server_tls()
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average {load}")
        head = f"{'output':<12} {'alerts/round':>12} {'median alerts/s':>16} {'CPU µs/alert':>13}"
        print(f"{head}  (rounds)")
        for kind in sys.argv[1:] or KINDS:
            results = bench(kind, work)
            rates = [rate for rate, _ in results]
            cpu = statistics.median(us for _, us in results)
            rounds = " ".join(f"{r:,.0f}" for r in rates)
            n = ALERTS.get(kind, DEFAULT_ALERTS)
            rate = statistics.median(rates)
            print(f"{kind:<12} {n:>12,} {rate:>16,.0f} {cpu:>13.1f}  ({rounds})", flush=True)
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
