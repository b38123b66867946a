"""A minimal agent for tests: enrolls with a real CSR and sends real mTLS requests."""

from __future__ import annotations

import itertools
import ssl
from pathlib import Path
from typing import Any

import httpx
import msgspec
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stockade.model.alerts import Alert
from stockade.model.entities import Container, Host
from stockade.model.events import Event, Process
from stockade.model.wire import (
    BATCH_CONTENT_TYPE,
    Batch,
    EnrollRequest,
    EnrollResponse,
    Heartbeat,
    SensorStatus,
)
from stockade.platform.timestamps import format_ns

_ids = itertools.count(1)


def key_and_csr(cn: str = "pending") -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A fresh key and a PEM CSR for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key in unencrypted PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def tls_context(
    ca_pem: str, cert_path: Path | None = None, key_path: Path | None = None
) -> ssl.SSLContext:
    """Trust `ca_pem`; present the client certificate when given."""
    ctx = ssl.create_default_context(cadata=ca_pem)
    if cert_path is not None:
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


def encode_batch(batch: Batch) -> bytes:
    """The wire form: zstd-compressed msgpack."""
    return zstandard.ZstdCompressor().compress(msgspec.msgpack.encode(batch))


BATCH_HEADERS = {"Content-Type": BATCH_CONTENT_TYPE, "Content-Encoding": "zstd"}


def make_event(
    seq: int,
    ts: int,
    *,
    container: Container | None = None,
    type: str = "execve",
    proc_name: str = "sh",
    pid: int = 100,
    host_id: str = "host-1",
) -> Event:
    """An event as an agent would send it."""
    return Event(
        type=type,
        ts=ts,
        proc=Process(
            pid=pid, name=proc_name, exepath=f"/bin/{proc_name}", argv=(proc_name, "-c", "id")
        ),
        container=container or Container.host(),
        host_id=host_id,
        seq=seq,
        source="test",
    )


def make_alert(
    seq: int, event: Event, rule: str = "Terminal shell in container", priority: str = "Warning"
) -> Alert:
    """An alert raised on `event`, in Falco's shape."""
    return Alert(
        uuid=f"00000000-0000-0000-0000-{next(_ids):012d}",
        output=f"A shell was spawned (proc.name={event.proc.name})",
        priority=priority,
        rule=rule,
        time=format_ns(event.ts),
        output_fields={
            "proc.name": event.proc.name,
            "proc.pid": event.proc.pid,
            "proc.cmdline": event.proc.cmdline,
            "container.id": event.container.short_id,
        },
        hostname="node-1",
        host_id=event.host_id,
        container_id=event.container.id,
        event_seq=event.seq,
        seq=seq,
    )


class TestAgent:
    """An enrolled agent: its id, its host and an mTLS client for the agent port."""

    __test__ = False  # not a test class

    def __init__(self, agent_id: str, host: Host, client: httpx.Client, cert_path: Path) -> None:
        self.agent_id = agent_id
        self.host = host
        self.client = client
        self.cert_path = cert_path

    @property
    def host_id(self) -> str:
        """The host id this agent enrolled with (its certificate is bound to it)."""
        return self.host.id

    @classmethod
    def enroll(
        cls,
        agent_url: str,
        ca_pem: str,
        token: str,
        directory: Path,
        hostname: str = "node-1",
        host_id: str = "host-1",
    ) -> TestAgent:
        """Enroll with `token` and return the agent with its client certificate."""
        key, csr = key_and_csr()
        host = Host(id=host_id, hostname=hostname)
        request = EnrollRequest(token=token, csr_pem=csr, host=host)
        with httpx.Client(base_url=agent_url, verify=tls_context(ca_pem), timeout=30) as c:
            r = c.post(
                "/api/v1/agent/enroll",
                content=msgspec.json.encode(request),
                headers={"Content-Type": "application/json"},
            )
        assert r.status_code == 200, r.text
        answer = msgspec.json.decode(r.content, type=EnrollResponse)
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{answer.agent_id}.crt", directory / "agent.key"
        cert_path.write_text(answer.cert_pem)
        key_path.write_bytes(key_pem(key))
        ctx = tls_context(answer.ca_pem, cert_path, key_path)
        client = httpx.Client(base_url=agent_url, verify=ctx, timeout=30)
        return cls(answer.agent_id, host, client, cert_path)

    def send(self, batch: Batch) -> httpx.Response:
        """POST one batch."""
        return self.client.post(
            "/api/v1/agent/batches", content=encode_batch(batch), headers=BATCH_HEADERS
        )

    def heartbeat(self, sensor: SensorStatus, **fields: Any) -> httpx.Response:
        """POST this agent's heartbeat with `sensor`; `fields`: its other fields that differ."""
        beat = Heartbeat(
            **{"agent_id": self.agent_id, "host": self.host, "version": "0.1.0", **fields},
            sensor=sensor,
        )
        return self.client.post("/api/v1/agent/heartbeat", content=msgspec.json.encode(beat))

    def post_raw(self, body: bytes, **headers: Any) -> httpx.Response:
        """POST arbitrary bytes as a batch."""
        return self.client.post(
            "/api/v1/agent/batches", content=body, headers={**BATCH_HEADERS, **headers}
        )

    def batch(self, events: list[Event], alerts: list[Alert] | None = None) -> Batch:
        """A batch of this agent covering exactly the records' seqs."""
        seqs = [e.seq for e in events] + [a.seq for a in alerts or []]
        return Batch(
            agent_id=self.agent_id,
            first_seq=min(seqs),
            last_seq=max(seqs),
            events=events,
            alerts=alerts or [],
        )
