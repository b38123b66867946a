"""Password hashing (scrypt) and bearer/enrollment tokens stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form scrypt$n$r$p$salt$hash (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a hash made by `hash_password`."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
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
