"""The console port: TLS by default (platform CA or the user's certificate), HTTP if asked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as a user might bring them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "console.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "console.crt", directory / "console.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_console_is_tls_by_default_and_refuses_plain_http(running: PlatformRunner) -> None:
    assert running.platform.console_url.startswith("https://")
    with running.console() as c:
        assert c.get("/api/v1/health").status_code == 200
    plain = running.platform.console_url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{plain}/api/v1/health", timeout=10)


def test_console_serves_the_users_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    runner = PlatformRunner(tmp_path / "data")
    runner.config = dataclasses.replace(runner.config, console_cert=cert, console_key=key)
    runner.start()
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        url = f"{runner.platform.console_url}/api/v1/health"
        assert httpx.get(url, verify=trust, timeout=10).status_code == 200
        with pytest.raises(httpx.ConnectError):  # not the platform CA's certificate
            runner.console().get("/api/v1/health")
    finally:
        runner.stop()


def test_plain_http_only_when_asked_for(tmp_path: Path) -> None:
    runner = PlatformRunner(tmp_path / "data")
    runner.config = dataclasses.replace(runner.config, console_tls=False)
    runner.start()
    try:
        assert runner.platform.console_url.startswith("http://")
        url = f"{runner.platform.console_url}/api/v1/health"
        assert httpx.get(url, timeout=10).status_code == 200
    finally:
        runner.stop()
