"""A user whose password was hashed with scrypt logs in and has it rehashed with argon2id."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server
PASSWORD = "old-scrypt-password-7"


def _scrypt_hash(password: str) -> str:
    """A hash as the platform made them before argon2id: scrypt$n$r$p$salt$hash."""
    salt = b"fedcba9876543210"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${2**14}$8$1${b64(salt).decode()}${b64(digest).decode()}"


def _stored_hash(running: PlatformRunner, username: str) -> str:
    with running.beside() as store:  # a second connection
        user = store.get_user(username)
    assert user is not None
    return user.password_hash


def test_scrypt_hash_is_rehashed_to_argon2id_at_the_next_good_login(
    running: PlatformRunner,
) -> None:
    with running.beside() as store:
        assert store.create_user("legacy", _scrypt_hash(PASSWORD), "viewer")
    with running.console() as c:
        wrong = c.post("/api/v1/auth/login", json={"username": "legacy", "password": "x" * 12})
        assert wrong.status_code == 401
    assert _stored_hash(running, "legacy").startswith("scrypt$")  # a wrong one changes nothing

    first = running.login("legacy", PASSWORD)
    assert first.get("/api/v1/agents").status_code == 200
    assert _stored_hash(running, "legacy").startswith("$argon2id$")
    assert first.get("/api/v1/agents").status_code == 200  # the session outlives the rehash
    again = running.login("legacy", PASSWORD)  # the new hash verifies the same password
    assert again.get("/api/v1/agents").status_code == 200
    first.close()
    again.close()
