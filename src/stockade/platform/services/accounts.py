"""Console users: the first admin, logins and bearer sessions."""

from __future__ import annotations

import os
import time

from stockade.platform.services.credentials import (
    hash_password,
    new_password,
    new_token,
    token_hash,
    verify_password,
)
from stockade.platform.store import Store
from stockade.platform.store.runner import StoreRunner

ADMIN = "admin"
ADMIN_PASSWORD_ENV = "STOCKADE_ADMIN_PASSWORD"
SESSION_TTL_NS = 12 * 3600 * 1_000_000_000


def ensure_admin(store: Store) -> str | None:
    """Create user `admin` if missing; returns its password only when created now."""
    if store.get_user(ADMIN) is not None:
        return None
    password = os.environ.get(ADMIN_PASSWORD_ENV) or new_password()
    return password if store.create_user(ADMIN, hash_password(password)) else None


class AccountService:
    """Logs users in and resolves bearer tokens, off the event loop."""

    def __init__(self, store: Store, runner: StoreRunner) -> None:
        self._store = store
        self._runner = runner

    def _check(self, username: str, password: str) -> int | None:
        user = self._store.get_user(username)
        if user is None or not verify_password(password, user.password_hash):
            return None
        return user.id

    async def login(self, username: str, password: str) -> str | None:
        """A new bearer token for good credentials, else None."""
        # scrypt runs on a reader thread so the single writer (ingest) is not held up
        user_id = await self._runner.read(self._check, username, password)
        if user_id is None:
            return None
        token = new_token()
        expires = time.time_ns() + SESSION_TTL_NS
        await self._runner.write(self._store.add_session, token_hash(token), user_id, expires)
        return token

    async def logout(self, token: str) -> None:
        """End the session of a bearer token."""
        await self._runner.write(self._store.delete_session, token_hash(token))

    async def user_for(self, token: str) -> str | None:
        """The username behind a live bearer token, else None."""
        return await self._runner.read(self._store.session_user, token_hash(token), time.time_ns())
