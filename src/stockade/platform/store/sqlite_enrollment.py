"""Enrolling an agent in one write transaction: spend the token, settle who holds the host
id, record the agent. `SqliteStore` (and so `PostgresStore`) takes these methods in as a
mixin.

A host id is spoken for by one active (not revoked) agent at a time: a second agent naming
it is refused, unless an admin made its token to replace that host's agent (a reinstall);
then the holder is revoked in the transaction that adds the new agent. A refusal writes
nothing, so the token stays usable (after the admin revoked the holder, for instance).
"""

from __future__ import annotations

import enum
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from stockade.platform.store.base import AgentRecord, TokenState
from stockade.platform.store.sql import Connection


class HostClaim(enum.StrEnum):
    """How an enrollment's host id stood."""

    FREE = "free"  # no active agent held it
    REPLACED = "replaced"  # the token's host: its active agents are revoked
    HELD = "held"  # refused: another active agent holds it
    OTHER_HOST = "other host"  # refused: the token was made to replace another host


@dataclass(frozen=True, slots=True)
class Enrollment:
    """The outcome: the token's state, the host claim, and the active agents on the host
    (refused because of them, or revoked for a replacing token)."""

    token: TokenState
    host: HostClaim = HostClaim.FREE
    holders: tuple[str, ...] = ()
    replaces_host: str = ""

    @property
    def done(self) -> bool:
        """True when the agent was recorded (and the token spent)."""
        return self.token is TokenState.CLAIMED and self.host in (
            HostClaim.FREE,
            HostClaim.REPLACED,
        )


@runtime_checkable
class EnrollmentStore(Protocol):
    """Tokens (ordinary or replacing a host's agent) and enrollment in one transaction."""

    def add_host_token(self, token_hash: str, expires_at: int, replaces_host: str) -> None:
        """Remember a one-time token; `replaces_host` ("" for none) names the host whose
        active agent an enrollment with it revokes."""
        ...

    def enroll_agent(self, token_hash: str, now: int, agent: AgentRecord) -> Enrollment:
        """Spend the token and record `agent` unless the token or its host id refuse it."""
        ...


class SqliteEnrollment:
    """The enrollment SQL, mixed into `SqliteStore` (which provides the connections)."""

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def add_host_token(self, token_hash: str, expires_at: int, replaces_host: str) -> None:
        """Remember a one-time token; `replaces_host` ("" for none) names the host whose
        active agent an enrollment with it revokes."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO enrollment_tokens "
                "(token_hash, created_at, expires_at, replaces_host) VALUES (?, ?, ?, ?)",
                (token_hash, time.time_ns(), expires_at, replaces_host),
            )

    def enroll_agent(self, token_hash: str, now: int, agent: AgentRecord) -> Enrollment:
        """Spend the token and record `agent` unless the token or its host id refuse it."""
        with self._write() as conn:
            outcome = _decide(conn, token_hash, now, agent.host_id)
            if outcome.done:
                _record(conn, token_hash, now, agent, outcome)
            return outcome


def _decide(conn: Connection, token_hash: str, now: int, host_id: str) -> Enrollment:
    row = conn.execute(
        "SELECT expires_at, used_at, replaces_host FROM enrollment_tokens WHERE token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return Enrollment(TokenState.UNKNOWN)
    if row[1] is not None:
        return Enrollment(TokenState.USED)
    if row[0] <= now:
        return Enrollment(TokenState.EXPIRED)
    replaces: str = row[2]
    if replaces and replaces != host_id:
        return Enrollment(TokenState.CLAIMED, HostClaim.OTHER_HOST, replaces_host=replaces)
    holders = tuple(
        r[0]
        for r in conn.execute(
            "SELECT id FROM agents WHERE host_id = ? AND revoked_at IS NULL ORDER BY enrolled_at",
            (host_id,),
        )
    )
    if not holders:
        return Enrollment(TokenState.CLAIMED, HostClaim.FREE, replaces_host=replaces)
    claim = HostClaim.REPLACED if replaces else HostClaim.HELD
    return Enrollment(TokenState.CLAIMED, claim, holders, replaces)


def _record(
    conn: Connection, token_hash: str, now: int, agent: AgentRecord, outcome: Enrollment
) -> None:
    conn.execute(
        "UPDATE enrollment_tokens SET used_at = ?, agent_id = ? WHERE token_hash = ?",
        (now, agent.id, token_hash),
    )
    if outcome.host is HostClaim.REPLACED:
        conn.execute(
            "UPDATE agents SET revoked_at = ?, status = 'revoked' "
            "WHERE host_id = ? AND revoked_at IS NULL",
            (now, agent.host_id),
        )
    conn.execute(
        "INSERT INTO agents (id, hostname, host_id, cert_fingerprint, enrolled_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (agent.id, agent.hostname, agent.host_id, agent.cert_fingerprint, agent.enrolled_at),
    )
