"""Password hashing (argon2id; older scrypt hashes still verify) and tokens stored as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (19 MiB, 2 passes) on one lane: a hash never takes more than the
# one core the hashing pool's thread runs on (~50 ms here), so ingest keeps the other
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_SCRYPT = "scrypt$"  # hashes made before argon2id: scrypt$n$r$p$salt$hash (base64)


def hash_password(password: str) -> str:
    """A salted argon2id hash in the PHC string format ($argon2id$v=19$m=...)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`, an argon2id hash or an older scrypt one."""
    if stored.startswith(_SCRYPT):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` is not an argon2id hash with today's parameters (rehash at login)."""
    if stored.startswith(_SCRYPT):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


MIN_PASSWORD_CHARS = 12


def password_problem(password: str, username: str) -> str | None:
    """Why `password` is too weak for `username`, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password too short: use at least {MIN_PASSWORD_CHARS} characters"
    if username and username.lower() in password.lower():
        return "password must not contain the username"
    if len(set(password)) < 4:
        return "password too simple: use at least 4 different characters"
    return None


def new_token() -> str:
    """A fresh random token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def new_password() -> str:
    """A fresh random password for the first admin."""
    return secrets.token_urlsafe(15)


def token_hash(token: str) -> str:
    """How tokens are stored: SHA-256 hex (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
