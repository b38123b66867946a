"""Fixtures of the outputs' tests: a TLS server certificate the clients trust."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.platform.pki import CertificateAuthority, ServerTls


@pytest.fixture(scope="session")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    """A certificate for 127.0.0.1 and the CA that issued it."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("pki")).server_tls()


@pytest.fixture
def queue_dir(tmp_path: Path) -> Path:
    """Where the outputs under test keep their queues."""
    return tmp_path / "queues"
