"""The platform CA: created once with a private key file, server cert names, agent certs."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from stockade.platform.pki import CertificateAuthority, CsrError, common_name
from tests.support.agent_client import key_and_csr


def _names(cert_path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def test_ca_is_created_once_with_private_key(tmp_path: Path) -> None:
    first = CertificateAuthority.load_or_create(tmp_path / "pki")
    second = CertificateAuthority.load_or_create(tmp_path / "pki")
    assert first.cert_pem == second.cert_pem
    assert (tmp_path / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_server_cert_names_and_reissue(tmp_path: Path) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path / "pki")
    tls = ca.server_tls()
    assert {"127.0.0.1", "localhost", socket.gethostname()} <= _names(tls.cert_path)
    assert tls.key_path.stat().st_mode & 0o777 == 0o600
    before = tls.cert_path.read_bytes()
    assert ca.server_tls().cert_path.read_bytes() == before  # still fits: kept
    wider = ca.server_tls(("10.88.0.1",))
    assert "10.88.0.1" in _names(wider.cert_path)


def test_agent_cert_has_the_agent_id_as_cn(tmp_path: Path) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path / "pki")
    _, csr = key_and_csr(cn="whatever-the-agent-asked")
    cert = ca.sign_agent_csr(csr, "0123abcd")
    assert common_name(cert) == "0123abcd"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(ca.cert)


def test_bad_csr_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path / "pki")
    with pytest.raises(CsrError, match="not a PEM certificate signing request"):
        ca.sign_agent_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", "x")
