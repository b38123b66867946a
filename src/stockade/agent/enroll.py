"""Enrollment: a key and CSR made here, exchanged once with a token for a client cert.

Files in the state dir: agent.key (0600), agent.crt, ca.crt, agent_id. After enrollment
only the client certificate authenticates the agent. The enroll call verifies the
platform with `ca.crt`, which an operator puts there beforehand (`--ca`) or which is
fetched from the platform and kept only if its SHA-256 fingerprint is the one pinned
(`--ca-fingerprint`, printed by `stockade token create`): the token never goes to a
platform that was not verified.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stockade.agent.errors import AgentError, EnrollError, TransportError
from stockade.model import Host
from stockade.model.wire import EnrollRequest, EnrollResponse

A = TypeVar("A")

log = logging.getLogger(__name__)
_contexts: dict[Path, ssl.SSLContext] = {}  # cert path -> the one client context for it
_contexts_lock = threading.Lock()
ENROLL_PATH = "/api/v1/agent/enroll"
CA_PATH = "/api/v1/agent/ca"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The agent's identity on disk."""

    agent_id: str
    key_path: Path
    cert_path: Path
    ca_path: Path

    def ssl_context(self) -> ssl.SSLContext:
        """The client context presenting the agent cert and trusting only the platform CA.

        One per certificate path in a process, shared by every connection pool, so that a
        renewed certificate (`reload`) reaches them all.
        """
        with _contexts_lock:
            context = _contexts.get(self.cert_path)
            if context is None:
                context = ssl.create_default_context(cafile=str(self.ca_path))
                context.load_cert_chain(str(self.cert_path), str(self.key_path))
                _contexts[self.cert_path] = context
            return context

    def reload(self) -> None:
        """Present the certificate now in `cert_path` on new connections."""
        with _contexts_lock:
            context = _contexts.get(self.cert_path)
            if context is not None:
                context.load_cert_chain(str(self.cert_path), str(self.key_path))


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


def write_file(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` atomically and durably with `mode`."""
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
    write_file(state_dir / "ca.crt", ca_pem, 0o644)


def _fingerprint_hex(text: str) -> str:
    """`sha256:AB:CD...` or `abcd...` -> `abcd...`."""
    return text.strip().lower().removeprefix("sha256:").replace(":", "")


def _ca_fingerprint(pem: bytes) -> str:
    return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()


def fetch_pinned_ca(state_dir: Path, server_url: str, ca_fingerprint: str) -> None:
    """Fetch the platform's CA (unverified) and pin it only if it has this fingerprint."""
    wanted = _fingerprint_hex(ca_fingerprint)
    if len(wanted) != 64 or any(c not in "0123456789abcdef" for c in wanted):
        raise EnrollError(
            f"--ca-fingerprint {ca_fingerprint!r} is not a SHA-256 fingerprint (64 hex digits)"
        )
    try:
        with httpx.Client(verify=False, timeout=30) as client:  # checked by fingerprint below
            response = client.get(server_url.rstrip("/") + CA_PATH)
    except httpx.HTTPError as e:
        raise EnrollError(f"cannot reach {server_url} to fetch its CA: {e}") from e
    try:
        actual = _ca_fingerprint(response.content) if response.status_code == 200 else ""
    except ValueError:
        actual = ""
    if actual != wanted:
        raise EnrollError(
            f"the CA offered by {server_url} has fingerprint sha256:{actual or 'none'}, not the "
            f"pinned sha256:{wanted}: not enrolling with it"
        )
    pin_ca(state_dir, response.content)


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


def enroll(
    state_dir: Path, server_url: str, token: str, host: Host, ca_fingerprint: str | None = None
) -> Credentials:
    """Enroll with the platform once and store the credentials in `state_dir`.

    The platform is verified by the CA pinned in `state_dir` (`pin_ca`) or by one fetched
    and checked against `ca_fingerprint`; EnrollError when neither is there.
    """
    key_path, cert_path, ca_path, id_path = _paths(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if ca_fingerprint:
        fetch_pinned_ca(state_dir, server_url, ca_fingerprint)
    if not ca_path.is_file():
        raise EnrollError(
            "the platform's CA is not pinned: pass --ca-fingerprint (printed by `stockade token"
            f" create`) or --ca FILE, or put the CA certificate in {ca_path}"
        )
    pinned = ca_path.read_bytes()
    key_pem, csr_pem = make_key_and_csr(host.hostname or "stockade-agent")
    request = EnrollRequest(token=token, csr_pem=csr_pem, host=host)
    verify = ssl.create_default_context(cafile=str(ca_path))
    with httpx.Client(verify=verify, timeout=30) as client:
        url = server_url.rstrip("/") + ENROLL_PATH
        answer = post_json(client, url, request, EnrollResponse, "enrollment", EnrollError)
    try:
        x509.load_pem_x509_certificate(answer.cert_pem.encode())
        same_ca = _ca_fingerprint(answer.ca_pem.encode()) == _ca_fingerprint(pinned)
    except ValueError as e:
        raise EnrollError(f"the platform's enrollment answer is unusable: {e}") from e
    if not same_ca:
        raise EnrollError("the platform answered with another CA than the one pinned")
    write_file(key_path, key_pem, 0o600)
    write_file(cert_path, answer.cert_pem.encode(), 0o644)
    write_file(id_path, answer.agent_id.encode(), 0o644)  # last: marks enrollment complete
    return Credentials(answer.agent_id, key_path, cert_path, ca_path)


def post_json(
    client: httpx.Client,
    url: str,
    request: object,
    answer: type[A],
    what: str,
    error: type[AgentError],
) -> A:
    """POST `request` as JSON to `url`; its 200 answer decoded as `answer`, else `error`."""
    try:
        response = client.post(
            url, content=msgspec.json.encode(request), headers={"content-type": "application/json"}
        )
    except httpx.HTTPError as e:
        raise error(f"cannot reach {url} for {what}: {e}") from e
    if response.status_code != 200:
        raise error(f"{what} refused ({response.status_code}): {response_detail(response)}")
    try:
        return msgspec.json.decode(response.content, type=answer)
    except msgspec.DecodeError as e:
        raise error(f"the platform's {what} answer is unusable: {e}") from e


def platform_call(
    client: httpx.Client, method: str, url: str, what: str, **request: Any
) -> httpx.Response:
    """`method` on `url` with `request` (httpx's arguments); its 200 answer, else
    TransportError saying the platform was unreachable or refused `what`."""
    try:
        response = client.request(method, url, **request)
    except httpx.HTTPError as e:
        raise TransportError(f"platform unreachable at {url}: {e}") from e
    if response.status_code != 200:
        raise TransportError(
            f"{what} refused ({response.status_code}): {response_detail(response)}"
        )
    return response


def response_detail(response: httpx.Response) -> str:
    """The platform's error detail (FastAPI's `detail`), shortened for a log line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]
