"""Enrollment: one-time tokens, client certificates from this CA only, heartbeats."""

from __future__ import annotations

import datetime as dt
import ssl
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stockade.model.entities import Host
from stockade.model.wire import EnrollRequest, Heartbeat, SensorStatus
from stockade.platform.services.credentials import new_token, token_hash
from tests.support.agent_client import TestAgent, key_and_csr, key_pem, tls_context
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)


def _enroll_raw(running: PlatformRunner, token: str) -> httpx.Response:
    _, csr = key_and_csr()
    host = Host(id=f"h-{uuid.uuid4().hex}", hostname="node")  # a host no agent holds yet
    request = EnrollRequest(token=token, csr_pem=csr, host=host)
    ctx = tls_context(running.platform.ca_pem)
    with httpx.Client(base_url=running.platform.agent_url, verify=ctx, timeout=30) as c:
        return c.post("/api/v1/agent/enroll", content=msgspec.json.encode(request))


def test_token_works_once(running: PlatformRunner) -> None:
    token = running.platform.create_enrollment_token()
    first = _enroll_raw(running, token)
    assert first.status_code == 200
    cert = x509.load_pem_x509_certificate(first.json()["cert_pem"].encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == first.json()["agent_id"]
    assert len(first.json()["agent_id"]) == 32
    second = _enroll_raw(running, token)
    assert second.status_code == 403
    assert second.json()["detail"] == "enrollment token already used"


def test_unknown_and_expired_tokens_are_refused(running: PlatformRunner) -> None:
    assert _enroll_raw(running, "made-up").json()["detail"] == "unknown enrollment token"
    token = new_token()  # stored as expired a nanosecond ago rather than waiting for a ttl
    with running.beside() as store:
        store.add_enrollment_token(token_hash(token), time.time_ns() - 1)
    r = _enroll_raw(running, token)
    assert r.status_code == 403
    assert r.json()["detail"] == "enrollment token expired"


def test_bad_csr_is_refused_without_spending_the_token(running: PlatformRunner) -> None:
    token = running.platform.create_enrollment_token()
    request = {"token": token, "csr_pem": "garbage", "host": {"id": "h", "hostname": "n"}}
    with httpx.Client(
        base_url=running.platform.agent_url,
        verify=tls_context(running.platform.ca_pem),
        timeout=30,
    ) as c:
        r = c.post("/api/v1/agent/enroll", json=request)
    assert r.status_code == 422
    assert "csr_pem" in r.json()["detail"]
    assert _enroll_raw(running, token).status_code == 200


def test_agent_call_without_client_cert_is_refused(running: PlatformRunner) -> None:
    ctx = tls_context(running.platform.ca_pem)
    with httpx.Client(base_url=running.platform.agent_url, verify=ctx, timeout=30) as c:
        assert c.get("/api/v1/agent/ack").status_code == 401
        r = c.post("/api/v1/agent/batches", content=b"x")
        assert r.status_code == 401
        assert "client certificate" in r.json()["detail"]


def _foreign_client_cert(directory: Path, cn: str) -> tuple[Path, Path]:
    """A client certificate for `cn` signed by a CA the platform never saw."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stockade platform CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "foreign.crt", directory / "foreign.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key_pem(key))
    return cert_path, key_path


def test_client_cert_from_another_ca_is_refused(running: PlatformRunner, tmp_path: Path) -> None:
    agent = running.enroll(tmp_path / "real")
    # same CN as a real agent, but issued by a CA of our own
    cert_path, key_path = _foreign_client_cert(tmp_path, agent.agent_id)
    ctx = tls_context(running.platform.ca_pem, cert_path, key_path)
    with httpx.Client(base_url=running.platform.agent_url, verify=ctx, timeout=30) as c:
        try:
            r = c.get("/api/v1/agent/ack")
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError):
            return  # the handshake failed: refused
    assert 400 <= r.status_code < 500


def test_heartbeat_shows_in_agents_and_metrics(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="beat-host")
    sensor = SensorStatus(
        source="proc_connector",
        degraded="no BTF",
        events_by_type={"execve": 7},
        dropped=2,
        decode_errors=1,
        spool_dropped=19_279,
    )
    r = agent.heartbeat(sensor, spooled_seq=9)
    assert r.status_code == 200, r.text
    [row] = [a for a in admin.get("/api/v1/agents").json() if a["id"] == agent.agent_id]
    assert row["hostname"] == "beat-host"
    assert row["version"] == "0.1.0"
    assert row["status"] == "degraded"
    assert row["sensor"]["events_by_type"] == {"execve": 7}
    assert row["sensor"]["dropped"] == 2
    assert row["spool_dropped"] == 19_279  # spool overflow, shown apart from sensor losses
    assert row["last_seen"] is not None
    metrics = admin.get("/metrics").text
    assert (
        f'stockade_agent_sensor_events_total{{agent_id="{agent.agent_id}",hostname="beat-host",'
        'source="proc_connector",type="execve"} 7.0'
    ) in metrics
    assert f'stockade_agent_sensor_dropped_total{{agent_id="{agent.agent_id}"' in metrics
    assert (
        f'stockade_agent_spool_dropped_total{{agent_id="{agent.agent_id}",hostname="beat-host"}}'
        " 19279.0"
    ) in metrics


def test_heartbeat_for_another_agent_is_refused(running: PlatformRunner, tmp_path: Path) -> None:
    agent: TestAgent = running.enroll(tmp_path)
    beat = Heartbeat(
        agent_id="someone-else",
        host=Host(id="x", hostname="x"),
        version="0",
        sensor=SensorStatus(source="x"),
    )
    r = agent.client.post("/api/v1/agent/heartbeat", content=msgspec.json.encode(beat))
    assert r.status_code == 403
