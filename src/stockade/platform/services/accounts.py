"""Console users: the first admin, guarded logins, bearer sessions and per-user API tokens."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

from stockade.platform.errors import PlatformError
from stockade.platform.services.audit import AuditService
from stockade.platform.services.credentials import (
    hash_password,
    needs_rehash,
    new_password,
    new_token,
    password_problem,
    token_hash,
    verify_password,
)
from stockade.platform.services.hash_pool import (
    FAILURE_BURST,
    FAILURE_RATE_PER_S,
    HashPool,
    HashPoolBusy,
)
from stockade.platform.services.login_guard import Lockout, LoginGuard
from stockade.platform.services.login_refusals import RefusalTally
from stockade.platform.services.roles import Role
from stockade.platform.store import ApiTokenRecord, Store, StoreError, UserRecord
from stockade.platform.store.runner import StoreRunner

log = logging.getLogger(__name__)
ADMIN = "admin"
ADMIN_PASSWORD_ENV = "STOCKADE_ADMIN_PASSWORD"
SESSION_TTL_NS = 12 * 3600 * 1_000_000_000
MAX_TOKEN_DAYS = 365
DAY_NS = 86_400 * 1_000_000_000
# a failed login is answered this long after it came, so a wrong name takes as long as a
# wrong password (an unknown user's login is not hashed: made-up names cost no hashing)
FAILURE_DELAY_S = 0.5
# a refused login (429) is held longer: a guessing tool's N connections get N answers a
# second, each ~0.5 ms of the event loop the agent port shares
REFUSAL_DELAY_S = 1.0
REFUSED = "LOGIN_REFUSED"  # the audit log's method for refused logins
LOCKED_OUT = "too many failed logins; try later"


@dataclass(frozen=True, slots=True)
class LoginPacing:
    """How late failed (401) and refused (429) logins are answered, and how many failed
    logins are checked a second (the hashing pool's rate; past it logins are turned away)."""

    failure_delay_s: float = FAILURE_DELAY_S
    refusal_delay_s: float = REFUSAL_DELAY_S
    failure_rate_per_s: float = FAILURE_RATE_PER_S
    failure_burst: float = FAILURE_BURST


class AccountError(PlatformError):
    """A refused account operation, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after_s = status, reason, retry_after_s


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request's bearer token."""

    user_id: int
    username: str
    role: Role
    token_hash: str


def ensure_admin(store: Store) -> str | None:
    """Create user `admin` if missing; returns a password generated now (never the env's)."""
    if store.get_user(ADMIN) is not None:
        return None
    chosen = os.environ.get(ADMIN_PASSWORD_ENV)
    if chosen:
        problem = password_problem(chosen, ADMIN)
        if problem:
            raise PlatformError(f"{ADMIN_PASSWORD_ENV}: {problem}")
    password = chosen or new_password()
    created = store.create_user(ADMIN, hash_password(password), Role.ADMIN)
    return password if created and not chosen else None


def _check_new_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise AccountError(422, problem)


class AccountService:
    """Logs users in (rate limited) and manages users and tokens, off the event loop."""

    def __init__(
        self,
        store: Store,
        runner: StoreRunner,
        audit: AuditService,
        pacing: LoginPacing = LoginPacing(),
    ) -> None:
        self._store, self._runner, self._audit = store, runner, audit
        self._pacing = pacing
        self._hashing = HashPool(rate=pacing.failure_rate_per_s, burst=pacing.failure_burst)
        self.guard = LoginGuard()
        self.refusals = RefusalTally()

    async def login(self, username: str, password: str, source: str) -> str:
        """A new bearer token for good credentials; AccountError (401, 429) otherwise.

        A refused attempt (locked out, or the hashing pool's rate spent) is turned away
        before any store read, hash or write; refusals reach the audit log counted.
        """
        now, started = time.time_ns(), time.monotonic()
        lockout = self.guard.locked(username, source, now)
        if lockout is not None:
            await self._refused(username, source, now, LOCKED_OUT)
            raise AccountError(429, LOCKED_OUT, _seconds(lockout.until))
        try:
            self._hashing.admit()
            user = await self._runner.read(self._store.get_user, username)
            good = user is not None and await self._hashing.run(
                verify_password, password, user.password_hash
            )
        except HashPoolBusy as e:
            await self._refused(username, source, now, str(e))
            raise AccountError(429, str(e), 1) from e  # Retry-After: 1, not a lockout's
        if user is None or not good:
            await self._log_lockouts(username, source, self.guard.failed(username, source, now))
            await asyncio.sleep(max(0.0, started + self._pacing.failure_delay_s - time.monotonic()))
            raise AccountError(401, "wrong username or password")
        self.guard.succeeded(username, source)
        self._hashing.refund()
        if needs_rehash(user.password_hash):
            await self._rehash(user.username, user.password_hash, password)
        return await self._new_token(user.id, SESSION_TTL_NS, None)

    async def refuse_unseen(self, source: str) -> AccountError | None:
        """The refusal of any login from `source` now, known before reading it: the address
        is locked out or the hashing pool's rate is spent (answered late); else None."""
        now = time.time_ns()
        lockout = self.guard.address_locked(source, now)
        if lockout is not None:
            refusal = AccountError(429, LOCKED_OUT, _seconds(lockout.until))
        elif not self._hashing.has_turn():
            refusal = AccountError(429, str(HashPoolBusy.default()), 1)
        else:
            return None
        await self._refused("", source, now, refusal.reason)
        return refusal

    async def _rehash(self, username: str, old_hash: str, password: str) -> None:
        """Store the password's hash made the current way (argon2id) in place of `old_hash`;
        when the pool is busy, the user's next login does it."""
        try:
            new_hash = await self._hashing.run(hash_password, password)
        except HashPoolBusy:
            return
        await self._runner.write(self._store.replace_password_hash, username, old_hash, new_hash)

    async def _refused(self, username: str, source: str, now: int, why: str) -> None:
        """Answer late (a flooding client waits); audit only the first refusal of a window."""
        if self.refusals.refused(source, now):
            path = f"login of {username!r} refused: {why}; repeats are counted"
            await self._audit.record(username, REFUSED, path, 429, source)
        await asyncio.sleep(self._pacing.refusal_delay_s)

    async def report_refusals_every(self, interval_s: float) -> None:
        """Report ended windows of refused logins every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.report_refusals()
            except StoreError as e:  # the counts wait for the next round
                log.warning("cannot write refused logins to the audit log: %s", e)

    async def report_refusals(self, *, final: bool = False) -> None:
        """Write the counts of refused logins whose window ended (all of them if `final`)."""
        counts = self.refusals.drain() if final else self.refusals.ended(time.time_ns())
        for count in counts:
            path = f"{count.count} more logins refused from {count.address}"
            await self._audit.record("", REFUSED, path, 429, count.address)

    async def _log_lockouts(self, username: str, source: str, started: list[Lockout]) -> None:
        for lockout in started:
            log.warning("login locked out: %s, until %d", lockout.key, lockout.until)
            await self._audit.record(username, "LOCKOUT", lockout.key, 429, source)

    async def _new_token(self, user_id: int, ttl_ns: int, name: str | None) -> str:
        token = new_token()
        expires = time.time_ns() + ttl_ns
        await self._runner.write(self._store.add_session, token_hash(token), user_id, expires, name)
        return token

    async def logout(self, token: str) -> None:
        """End the session of a bearer token."""
        await self._runner.write(self._store.delete_session, token_hash(token))

    async def principal_for(self, token: str) -> Principal | None:
        """The user behind a live bearer token or API token, else None."""
        hashed = token_hash(token)
        user = await self._runner.read(self._store.session_user, hashed, time.time_ns())
        if user is None:
            return None
        return Principal(user.id, user.username, Role(user.role), hashed)

    async def change_password(self, who: Principal, current: str, new: str) -> None:
        """Change the caller's own password; ends its other login sessions."""
        user = await self._runner.read(self._store.get_user, who.username)
        if user is None or not await self._hashing.run(
            verify_password, current, user.password_hash
        ):
            raise AccountError(403, "current password is wrong")
        _check_new_password(new, who.username)
        hashed = await self._hashing.run(hash_password, new)
        await self._runner.write(self._store.set_password, who.username, hashed, who.token_hash)

    async def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        return await self._runner.read(self._store.list_users)

    async def create_user(self, username: str, password: str, role: Role) -> None:
        """Add a user; AccountError 409 when the name is taken, 422 for a weak password."""
        if not username or len(username) > 64 or not username.isprintable():
            raise AccountError(422, "username: 1 to 64 printable characters")
        _check_new_password(password, username)
        hashed = await self._hashing.run(hash_password, password)
        if not await self._runner.write(self._store.create_user, username, hashed, role):
            raise AccountError(409, f"user {username!r} exists already")

    async def update_user(self, username: str, role: Role | None, password: str | None) -> None:
        """Change another user's role and/or password (admin); 404 for an unknown user."""
        found = True
        if password is not None:
            _check_new_password(password, username)
            hashed = await self._hashing.run(hash_password, password)
            found = await self._runner.write(self._store.set_password, username, hashed, "")
        if found and role is not None:
            found = await self._runner.write(self._store.set_role, username, role)
        if not found:
            raise AccountError(404, f"no user {username!r}")

    async def delete_user(self, who: Principal, username: str) -> None:
        """Remove a user (not oneself, so one admin always remains)."""
        if username == who.username:
            raise AccountError(409, "you cannot delete yourself")
        if not await self._runner.write(self._store.delete_user, username):
            raise AccountError(404, f"no user {username!r}")

    async def create_api_token(self, who: Principal, name: str, days: int) -> str:
        """A named API token for the caller, valid for `days` (1 to 365)."""
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError(422, f"days: choose 1 to {MAX_TOKEN_DAYS}")
        if not name or len(name) > 64:
            raise AccountError(422, "name: 1 to 64 characters")
        return await self._new_token(who.user_id, days * DAY_NS, name)

    async def list_api_tokens(self, who: Principal) -> list[ApiTokenRecord]:
        """The caller's live API tokens."""
        return await self._runner.read(self._store.list_api_tokens, who.user_id, time.time_ns())

    async def revoke_api_token(self, who: Principal, token_id: str) -> None:
        """Revoke one of the caller's API tokens; 404 when it has none with that id."""
        if not await self._runner.write(self._store.delete_api_token, who.user_id, token_id):
            raise AccountError(404, f"no API token {token_id!r}")

    def close(self) -> None:
        """Stop the hashing threads."""
        self._hashing.close()


def _seconds(until_ns: int) -> int:
    return max(1, (until_ns - time.time_ns()) // 1_000_000_000 + 1)
