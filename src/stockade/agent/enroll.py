"""Enrollment: a key and CSR made here, exchanged once with a token for a client cert.

Files in the state dir: agent.key (0600), agent.crt, ca.crt, agent_id. After enrollment
only the client certificate authenticates the agent. The enroll call verifies the
platform with `ca.crt` if an operator put one there beforehand; otherwise it trusts the
first answer (the CA it returns is pinned for everything after).
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stockade.agent.errors import EnrollError
from stockade.model import Host
from stockade.model.wire import EnrollRequest, EnrollResponse

log = logging.getLogger(__name__)
ENROLL_PATH = "/api/v1/agent/enroll"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The agent's identity on disk."""

    agent_id: str
    key_path: Path
    cert_path: Path
    ca_path: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context presenting the agent cert and trusting only the platform CA."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        return context


def _paths(state_dir: Path) -> tuple[Path, Path, Path, Path]:
    return (
        state_dir / "agent.key",
        state_dir / "agent.crt",
        state_dir / "ca.crt",
        state_dir / "agent_id",
    )


def load_credentials(state_dir: Path) -> Credentials | None:
    """The stored credentials, or None when this state dir never enrolled."""
    key, cert, ca, agent_id = _paths(state_dir)
    if not all(p.is_file() for p in (key, cert, ca, agent_id)):
        return None
    return Credentials(agent_id.read_text().strip(), key, cert, ca)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def pin_ca(state_dir: Path, ca_pem: bytes) -> None:
    """Trust only this CA when enrolling (before enrollment; later the CA is already set)."""
    try:
        x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise EnrollError(f"not a PEM certificate: {e}") from e
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(state_dir / "ca.crt", ca_pem, 0o644)


def make_key_and_csr(common_name: str) -> tuple[bytes, str]:
    """A new P-256 key (PEM) and a CSR for it (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode()


def enroll(state_dir: Path, server_url: str, token: str, host: Host) -> Credentials:
    """Enroll with the platform once and store the credentials in `state_dir`."""
    key_path, cert_path, ca_path, id_path = _paths(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_pem, csr_pem = make_key_and_csr(host.hostname or "stockade-agent")
    body = msgspec.json.encode(EnrollRequest(token=token, csr_pem=csr_pem, host=host))
    verify: ssl.SSLContext | bool
    if ca_path.is_file():
        verify = ssl.create_default_context(cafile=str(ca_path))
    else:
        log.warning("no %s: trusting the platform's first answer to pin its CA", ca_path)
        verify = False
    try:
        with httpx.Client(verify=verify, timeout=30) as client:
            response = client.post(
                server_url.rstrip("/") + ENROLL_PATH,
                content=body,
                headers={"content-type": "application/json"},
            )
    except httpx.HTTPError as e:
        raise EnrollError(f"cannot reach {server_url} to enroll: {e}") from e
    if response.status_code != 200:
        raise EnrollError(
            f"enrollment refused ({response.status_code}): {response_detail(response)}"
        )
    try:
        answer = msgspec.json.decode(response.content, type=EnrollResponse)
        x509.load_pem_x509_certificate(answer.cert_pem.encode())
        x509.load_pem_x509_certificate(answer.ca_pem.encode())
    except (msgspec.DecodeError, ValueError) as e:
        raise EnrollError(f"the platform's enrollment answer is unusable: {e}") from e
    _write(key_path, key_pem, 0o600)
    _write(cert_path, answer.cert_pem.encode(), 0o644)
    _write(ca_path, answer.ca_pem.encode(), 0o644)
    _write(id_path, answer.agent_id.encode(), 0o644)  # last: marks enrollment complete
    return Credentials(answer.agent_id, key_path, cert_path, ca_path)


def response_detail(response: httpx.Response) -> str:
    """The platform's error detail (FastAPI's `detail`), shortened for a log line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]
