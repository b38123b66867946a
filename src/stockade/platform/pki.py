"""The platform's own certificate authority: CA, agent-port server cert, CSR signing."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stockade.platform.errors import PlatformError

CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=365)  # the agent port's server certificate
AGENT_CERT_VALIDITY = dt.timedelta(days=30)  # agents renew theirs well before this ends
RENEW_BEFORE = dt.timedelta(days=30)


class CsrError(PlatformError):
    """A certificate signing request cannot be used."""


@dataclass(frozen=True, slots=True)
class ServerTls:
    """Paths a TLS listener needs: its certificate, its key and the CA to verify clients."""

    cert_path: Path
    key_path: Path
    ca_path: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stockade"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret atomically with mode 0600 from the start."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint of a certificate, lowercase hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def common_name(cert: x509.Certificate) -> str:
    """The subject CN of a certificate, or "" when it has none."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


class CertificateAuthority:
    """A CA kept as PEM files in a directory; created on first use."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate):
        self.directory = directory
        self._key = key
        self.cert = cert

    @classmethod
    def load_or_create(cls, directory: Path) -> CertificateAuthority:
        """Load the CA from `directory`, creating key (0600) and certificate if missing."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_path, cert_path = directory / "ca.key", directory / "ca.crt"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise PlatformError(f"CA key {key_path} is not an EC key; remove it to recreate")
            return cls(directory, key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Stockade platform CA"))
            .issuer_name(_name("Stockade platform CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, _key_pem(key))
        _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return cls(directory, key, cert)

    @property
    def cert_pem(self) -> str:
        """The CA certificate in PEM form (what agents trust)."""
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def cert_path(self) -> Path:
        """Where the CA certificate lives."""
        return self.directory / "ca.crt"

    def _issue(
        self,
        subject_cn: str,
        public_key: CertificatePublicKeyTypes,
        usage: x509.ObjectIdentifier,
        san: list[x509.GeneralName] | None = None,
        validity: dt.timedelta = LEAF_VALIDITY,
    ) -> x509.Certificate:
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject_cn))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(self._key, hashes.SHA256())

    def sign_agent_csr(
        self, csr_pem: str, agent_id: str, validity: dt.timedelta = AGENT_CERT_VALIDITY
    ) -> x509.Certificate:
        """Issue a client certificate for `agent_id` (its CN) from an agent's CSR."""
        csr = load_csr(csr_pem)
        return self._issue(
            agent_id, csr.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, validity=validity
        )

    @property
    def fingerprint(self) -> str:
        """The CA certificate's SHA-256 fingerprint: what `agent --ca-fingerprint` pins."""
        return fingerprint(self.cert)

    def server_tls(self, extra_hosts: tuple[str, ...] = ()) -> ServerTls:
        """Certificate and key for the agent port, reissued when missing, old or lacking a name."""
        cert_path, key_path = self.directory / "server.crt", self.directory / "server.key"
        wanted = {"127.0.0.1", "localhost", socket.gethostname(), *extra_hosts} - {"", "0.0.0.0"}
        if not _server_cert_fits(cert_path, key_path, wanted):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = self._issue(
                "Stockade platform",
                key.public_key(),
                ExtendedKeyUsageOID.SERVER_AUTH,
                [_general_name(h) for h in sorted(wanted)],
            )
            _write_private(key_path, _key_pem(key))
            _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return ServerTls(cert_path=cert_path, key_path=key_path, ca_path=self.cert_path)


def load_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check its self-signature; CsrError says what is wrong."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as e:
        raise CsrError(f"csr_pem is not a PEM certificate signing request: {e}") from e
    if not csr.is_signature_valid:
        raise CsrError("csr_pem has an invalid signature")
    return csr


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _server_cert_fits(cert_path: Path, key_path: Path, wanted: set[str]) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    names = {str(n) for n in san.get_values_for_type(x509.IPAddress)}
    names |= set(san.get_values_for_type(x509.DNSName))
    return wanted <= names
