"""Renewing the agent's short-lived client certificate over its current mTLS channel.

The agent asks for a new certificate once a third of the current one's lifetime is left,
for the key it already has (so only agent.crt changes, atomically). The platform refuses
a revoked agent, which then cannot renew and falls silent when its certificate ends.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stockade.agent.enroll import Credentials, post_json, write_file
from stockade.agent.errors import TransportError
from stockade.model.wire import RenewRequest, RenewResponse

RENEW_PATH = "/api/v1/agent/renew"
RENEW_WHEN_LEFT = 1 / 3  # of the certificate's lifetime


def renewal_due(cert_path: Path) -> float:
    """When (epoch seconds) the certificate in `cert_path` should be renewed."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    return (cert.not_valid_after_utc - lifetime * RENEW_WHEN_LEFT).timestamp()


def _csr(credentials: Credentials) -> str:
    key = serialization.load_pem_private_key(credentials.key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TransportError(f"{credentials.key_path} is not the EC key enrollment made")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, credentials.agent_id)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def renew(credentials: Credentials, server_url: str, client: httpx.Client) -> dt.datetime:
    """Replace agent.crt with a renewed certificate; returns its end. TransportError if not."""
    url = server_url.rstrip("/") + RENEW_PATH
    request = RenewRequest(csr_pem=_csr(credentials))
    answer = post_json(client, url, request, RenewResponse, "certificate renewal", TransportError)
    pem = answer.cert_pem.encode()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise TransportError(f"the platform's certificate renewal answer is unusable: {e}") from e
    write_file(credentials.cert_path, pem, 0o644)
    credentials.reload()
    return cert.not_valid_after_utc
