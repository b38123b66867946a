"""Enrollment pins the platform's CA by the fingerprint `token create` prints: a token is
never sent to a platform whose CA does not have it (real platforms, real enrollments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.agent.enroll import enroll
from stockade.agent.errors import EnrollError
from stockade.cli.agent import TOKEN_ENV, _enroll_token
from stockade.errors import UsageError
from stockade.model import Host
from tests.support.platform_runner import PlatformRunner

HOST = Host(id="pin-host", hostname="pin")


@pytest.mark.server
def test_enrollment_refuses_a_platform_whose_ca_is_not_the_pinned_one(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    impostor = PlatformRunner(tmp_path / "impostor").start()
    try:
        token = impostor.token()  # a token the impostor would accept if it received it
        with pytest.raises(EnrollError, match="fingerprint sha256:") as refused:
            enroll(tmp_path / "a", impostor.agent_url, token, HOST, platform.ca_fingerprint)
        assert platform.ca_fingerprint in str(refused.value)
        assert not (tmp_path / "a" / "ca.crt").exists()
        with pytest.raises(EnrollError, match="not pinned"):
            enroll(tmp_path / "b", impostor.agent_url, token, HOST)
        with pytest.raises(EnrollError, match="not a SHA-256 fingerprint"):
            enroll(tmp_path / "c", impostor.agent_url, token, HOST, "sha256:abc")
        # the token never reached the impostor: it is still unused there
        creds = enroll(tmp_path / "d", impostor.agent_url, token, HOST, impostor.ca_fingerprint)
        assert creds.agent_id
    finally:
        impostor.stop()


@pytest.mark.server
def test_enrollment_with_the_printed_fingerprint_works(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    printed = "sha256:" + ":".join(
        platform.ca_fingerprint[i : i + 2].upper() for i in range(0, 64, 2)
    )
    creds = enroll(tmp_path / "agent", platform.agent_url, platform.token(), HOST, printed)
    assert creds.ca_path.read_text() == platform.platform.ca_pem


def test_the_token_comes_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert _enroll_token(None, None) is None
    secret = tmp_path / "token"
    secret.write_text("tok-from-file\n")
    assert _enroll_token(None, secret) == "tok-from-file"
    monkeypatch.setenv(TOKEN_ENV, "tok-from-env")
    assert _enroll_token(None, None) == "tok-from-env"
    assert _enroll_token("tok-from-flag", None) == "tok-from-flag"
    with pytest.raises(UsageError, match="not both"):
        _enroll_token("a", secret)
    with pytest.raises(UsageError, match="cannot read"):
        _enroll_token(None, tmp_path / "missing")
    (tmp_path / "empty").write_text("")
    with pytest.raises(UsageError, match="is empty"):
        _enroll_token(None, tmp_path / "empty")
