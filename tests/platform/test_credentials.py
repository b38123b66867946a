"""Password hashes: argon2id for new ones, older scrypt ones still verify and ask for a rehash."""

from __future__ import annotations

import base64
import hashlib

import pytest
from argon2 import PasswordHasher

from stockade.platform.services.credentials import hash_password, needs_rehash, verify_password

PASSWORD = "correct-horse-battery-9"


def scrypt_hash(password: str, salt: bytes = b"0123456789abcdef") -> str:
    """A hash as the platform made them before argon2id: scrypt$n$r$p$salt$hash."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${2**14}$8$1${b64(salt).decode()}${b64(digest).decode()}"


def test_new_hashes_are_argon2id_and_verify() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert not needs_rehash(stored)
    assert hash_password(PASSWORD) != stored  # salted


def test_scrypt_hashes_still_verify_and_need_a_rehash() -> None:
    stored = scrypt_hash(PASSWORD)
    assert verify_password(PASSWORD, stored)
    assert not verify_password("wrong-password-1", stored)
    assert needs_rehash(stored)


def test_weaker_argon2_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert verify_password(PASSWORD, weak)
    assert needs_rehash(weak)


@pytest.mark.parametrize(
    "stored",
    ["", "garbage", "scrypt$1$2", "scrypt$x$8$1$AAAA$AAAA", "$argon2id$v=19$garbage"],
    ids=["empty", "garbage", "short-scrypt", "bad-scrypt-n", "bad-argon2"],
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password(PASSWORD, stored)
    assert needs_rehash(stored)
