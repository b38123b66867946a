"""Ingest throughput: events/s through the real agent endpoint (mTLS, msgpack+zstd) into SQLite.

Starts `stockade server` in its own process on free loopback ports, enrolls agents with real
certificates, then sends pre-encoded batches of 1000 events from this process and prints the
median rate over several rounds, for one agent and for several agents at once.
"""

from __future__ import annotations

import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support.ports import free_port

from stockade.model.entities import Container, Host
from stockade.model.events import Ancestor, Event, Process
from stockade.model.wire import BATCH_CONTENT_TYPE, Batch, EnrollRequest, EnrollResponse
from stockade.platform.services.ingest import decode_batch
from stockade.platform.store import AgentRecord
from stockade.platform.store.sqlite import SqliteStore

BATCH_EVENTS = 1000
BATCHES_PER_ROUND = 30
ROUNDS = 5
PARALLEL_AGENTS = 4
HEADERS = {"Content-Type": BATCH_CONTENT_TYPE, "Content-Encoding": "zstd"}


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """`stockade server` in its own process (as deployed): it, agent URL, CA, console URL."""
    console, agent = free_port(), free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli",
            "server",
            "--data-dir",
            str(data_dir),
            "--port",
            str(console),
            "--agent-port",
            str(agent),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    ca_path = data_dir / "platform" / "pki" / "ca.crt"
    while time.monotonic() < deadline:
        try:
            health = f"https://127.0.0.1:{console}/api/v1/health"
            if httpx.get(health, verify=str(ca_path)).status_code == 200:
                break
        except (httpx.TransportError, OSError):  # not listening yet, or no CA written yet
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError("stockade server did not start")
    ca_pem = ca_path.read_text()
    return server, f"https://127.0.0.1:{agent}", ca_pem, f"https://127.0.0.1:{console}"


def _token(data_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "stockade.cli", "token", "create", "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _enroll(
    agent_url: str, ca_pem: str, token: str, directory: Path, n: int
) -> tuple[str, httpx.Client]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    request = EnrollRequest(
        token=token,
        csr_pem=csr,
        host=Host(id="bench-host", hostname=f"bench-{n}"),  # the host its events name
    )
    trust = ssl.create_default_context(cadata=ca_pem)
    with httpx.Client(base_url=agent_url, verify=trust) as c:
        r = c.post("/api/v1/agent/enroll", content=msgspec.json.encode(request))
        r.raise_for_status()
    answer = msgspec.json.decode(r.content, type=EnrollResponse)
    cert, key_path = directory / f"agent{n}.crt", directory / f"agent{n}.key"
    cert.write_text(answer.cert_pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(cadata=answer.ca_pem)
    ctx.load_cert_chain(cert, key_path)
    return answer.agent_id, httpx.Client(base_url=agent_url, verify=ctx, timeout=60)


def _event(seq: int, container: Container) -> Event:
    pid = 1000 + seq % 30000
    return Event(
        type="execve",
        ts=time.time_ns() + seq,
        proc=Process(
            pid=pid,
            ppid=pid - 1,
            name="curl",
            exepath="/usr/bin/curl",
            argv=("curl", "-s", "http://10.88.0.5:8080/health", f"--id={seq}"),
            cwd="/app",
            uid=1000,
            gid=1000,
        ),
        container=container,
        ancestors=(Ancestor(pid=pid - 1, name="sh", exepath="/bin/sh", argv=("sh", "-c")),),
        host_id="bench-host",
        seq=seq,
        source="bench",
    )


def _batches(agent_id: str, first_seq: int, count: int) -> list[bytes]:
    container = Container(
        id="ab" * 32,
        name="bench-web",
        image="localhost/bench:1",
        image_digest="sha256:" + "cd" * 32,
        runtime="podman",
    )
    compressor = zstandard.ZstdCompressor()
    out = []
    seq = first_seq
    for _ in range(count):
        events = [_event(s, container) for s in range(seq, seq + BATCH_EVENTS)]
        batch = Batch(
            agent_id=agent_id, first_seq=seq, last_seq=seq + BATCH_EVENTS - 1, events=events
        )
        out.append(compressor.compress(msgspec.msgpack.encode(batch)))
        seq += BATCH_EVENTS
    return out


def _send_all(client: httpx.Client, bodies: list[bytes]) -> None:
    for body in bodies:
        r = client.post("/api/v1/agent/batches", content=body, headers=HEADERS)
        if r.status_code != 200:
            raise RuntimeError(f"batch refused: {r.status_code} {r.text}")


def _stages(tmp: Path) -> tuple[float, float]:
    """Events/s of the two big stages alone: decoding a body, writing a batch to SQLite."""
    store = SqliteStore(str(tmp / "stages.sqlite"))
    store.add_agent(
        AgentRecord(id="s", hostname="s", host_id="s", cert_fingerprint="", enrolled_at=0)
    )
    decode_rates, store_rates = [], []
    seq = 1
    for _ in range(ROUNDS):
        bodies = _batches("s", seq, 10)
        seq += 10 * BATCH_EVENTS
        started = time.perf_counter()
        decoded = [decode_batch(b, BATCH_CONTENT_TYPE, "zstd") for b in bodies]
        decode_rates.append(10 * BATCH_EVENTS / (time.perf_counter() - started))
        started = time.perf_counter()
        for batch in decoded:
            store.store_batch(batch, time.time_ns())
        store_rates.append(10 * BATCH_EVENTS / (time.perf_counter() - started))
    store.close()
    return statistics.median(decode_rates), statistics.median(store_rates)


def main() -> int:
    """Print median events/s for one agent and for several agents in parallel."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)  # the data root: the platform's state goes to its platform/
        server, agent_url, ca_pem, _ = _start_server(data_dir)
        agents = [
            _enroll(agent_url, ca_pem, _token(data_dir), Path(tmp), n)
            for n in range(PARALLEL_AGENTS)
        ]
        next_seq = dict.fromkeys((a for a, _ in agents), 1)
        single: list[float] = []
        parallel: list[float] = []
        sizes: list[int] = []
        for _ in range(ROUNDS):
            agent_id, client = agents[0]
            bodies = _batches(agent_id, next_seq[agent_id], BATCHES_PER_ROUND)
            next_seq[agent_id] += BATCHES_PER_ROUND * BATCH_EVENTS
            sizes.extend(len(b) for b in bodies)
            started = time.perf_counter()
            _send_all(client, bodies)
            single.append(BATCHES_PER_ROUND * BATCH_EVENTS / (time.perf_counter() - started))

            per_agent = BATCHES_PER_ROUND // PARALLEL_AGENTS
            work = []
            for agent_id, client in agents:
                work.append((client, _batches(agent_id, next_seq[agent_id], per_agent)))
                next_seq[agent_id] += per_agent * BATCH_EVENTS
            started = time.perf_counter()
            with ThreadPoolExecutor(PARALLEL_AGENTS) as pool:
                list(pool.map(lambda w: _send_all(*w), work))
            total = per_agent * PARALLEL_AGENTS * BATCH_EVENTS
            parallel.append(total / (time.perf_counter() - started))
        for _, client in agents:
            client.close()
        server.terminate()
        server.wait(30)
        decode_rate, store_rate = _stages(Path(tmp))
    print(f"ingest_batch_events: {BATCH_EVENTS} events")
    print(f"ingest_batch_compressed_size_median: {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"ingest_one_agent_median: {statistics.median(single):.0f} events/s")
    print(f"ingest_{PARALLEL_AGENTS}_agents_median: {statistics.median(parallel):.0f} events/s")
    print(f"ingest_stage_decode_median: {decode_rate:.0f} events/s")
    print(f"ingest_stage_sqlite_store_median: {store_rate:.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
