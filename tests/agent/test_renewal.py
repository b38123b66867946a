"""Short-lived agent certificates renewed over the agent's own mTLS channel; a revoked
agent can neither renew nor send (a real platform, a real enrolled `Transport`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from stockade.agent.enroll import load_credentials
from stockade.agent.errors import TransportError
from stockade.agent.spool import Spool
from stockade.agent.transport import Transport
from stockade.model import Event, Host, Process
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = pytest.mark.server

HOST = Host(id="renewal-host", hostname="renewal")
DAY_S = 86400


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _events(start: int, count: int) -> list[Event]:
    return [
        Event(type="execve", ts=n, proc=Process(pid=n, name="t"), host_id=HOST.id)
        for n in range(start, start + count)
    ]


def test_the_agent_renews_its_certificate_and_a_revoked_one_cannot(
    platform: PlatformRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "agent"
    creds = platform.credentials(state, HOST)
    first = _cert(creds.cert_path)
    lifetime = first.not_valid_after_utc - first.not_valid_before_utc
    assert lifetime == dt.timedelta(days=30, minutes=5)  # valid from 5 min ago for clock skew
    spool = Spool(state / "spool")
    transport = Transport(spool, platform.agent_url, creds)
    with contextlib.closing(spool), contextlib.closing(transport):
        spool.append(_events(1, 10))
        assert transport.drain(30)
        assert not transport.renew_if_due(time.time())  # not due yet: nothing asked
        assert _cert(creds.cert_path) == first
        assert transport.renew_if_due(time.time() + 25 * DAY_S)
        renewed = _cert(creds.cert_path)
        assert renewed.serial_number != first.serial_number
        assert renewed.subject == first.subject and renewed.not_valid_after_utc >= (
            first.not_valid_after_utc
        )
        # a fresh connection presents the renewed certificate, which the platform accepts
        fresh = Transport(spool, platform.agent_url, load_credentials(state) or creds)
        with contextlib.closing(fresh):
            spool.append(_events(11, 5))
            assert fresh.drain(30)
        with contextlib.closing(platform.login()) as admin:
            [row] = [a for a in admin.get("/api/v1/agents").json() if a["id"] == creds.agent_id]
            assert row["cert_fingerprint"] == renewed.fingerprint(hashes.SHA256()).hex()
            assert admin.delete(f"/api/v1/agents/{creds.agent_id}").status_code == 200
        # revoked: renewal is refused and the certificate stays what it was
        with caplog.at_level("WARNING", logger="stockade.agent.transport"):
            assert not transport.renew_if_due(time.time() + 29 * DAY_S)
        assert "certificate renewal refused (403)" in caplog.text
        assert "is revoked" in caplog.text
        assert _cert(creds.cert_path) == renewed
        with pytest.raises(TransportError, match="403"):
            transport.sync_ack()


def test_a_running_transport_renews_a_certificate_that_is_due(tmp_path: Path) -> None:
    runner = PlatformRunner(tmp_path / "platform")
    # a 60 s certificate (valid from 5 min back for clock skew) is due at once
    runner.config = dataclasses.replace(runner.config, agent_cert_validity_s=60)
    runner.start()
    try:
        state = tmp_path / "agent"
        creds = runner.credentials(state, HOST)
        first = _cert(creds.cert_path)
        spool = Spool(state / "spool")
        transport = Transport(spool, runner.agent_url, creds)
        stop = threading.Event()
        sender = threading.Thread(target=transport.run, args=(stop,))
        sender.start()
        try:
            poll_until(
                lambda: _cert(creds.cert_path).serial_number != first.serial_number,
                30,
                "the transport to renew its certificate",
            )
            spool.append(_events(1, 3))
            poll_until(lambda: transport.platform_acked == 3, 30, "the batch to be acked")
        finally:
            stop.set()
            sender.join(30)
            transport.close()
            spool.close()
    finally:
        runner.stop()
