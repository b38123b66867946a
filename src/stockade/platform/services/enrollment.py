"""Agent enrollment: one-time tokens (stored hashed) exchanged for a signed client cert.

A host id belongs to one active agent: enrolling another agent on it is refused (409)
unless the token was made by an admin to replace that host's agent (`stockade token create
--replace-host HOST_ID`, in the audit log), which revokes the old agent as the new one is
recorded; or the admin revokes the old agent first.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from cryptography.hazmat.primitives import serialization

from stockade.model.wire import EnrollRequest, EnrollResponse
from stockade.platform.errors import PlatformError
from stockade.platform.pki import (
    AGENT_CERT_VALIDITY,
    CertificateAuthority,
    fingerprint,
    load_csr,
)
from stockade.platform.services.credentials import new_token, token_hash
from stockade.platform.store import AgentRecord, Store
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite_enrollment import Enrollment, EnrollmentStore, HostClaim

log = logging.getLogger(__name__)


class EnrollmentRefused(PlatformError):
    """The enrollment token or request cannot be used; `status` is the HTTP status."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.status = status


def enrollment_store(store: Store) -> EnrollmentStore:
    """The store as one that enrolls in a transaction; PlatformError for one that cannot."""
    if not isinstance(store, EnrollmentStore):
        raise PlatformError(f"store {type(store).__name__} cannot enroll agents")
    return store


def create_token(store: Store, ttl_s: int, replaces_host: str = "") -> str:
    """A new one-time enrollment token valid for `ttl_s` seconds; with `replaces_host`, the
    token may enroll that host while another agent holds it, revoking that agent."""
    if ttl_s <= 0:
        raise PlatformError(f"token ttl must be positive, got {ttl_s} s")
    token = new_token()
    expires = time.time_ns() + ttl_s * 1_000_000_000
    enrollment_store(store).add_host_token(token_hash(token), expires, replaces_host)
    return token


def refusal(outcome: Enrollment, host_id: str) -> EnrollmentRefused:
    """Why `outcome` did not enroll `host_id`, and what an admin can do about it."""
    if outcome.host is HostClaim.OTHER_HOST:
        return EnrollmentRefused(
            f"this token replaces the agent of host {outcome.replaces_host!r}, "
            f"not of host {host_id!r}"
        )
    if outcome.host is HostClaim.HELD:
        holder = outcome.holders[0]
        return EnrollmentRefused(
            f"host {host_id!r} is held by active agent {holder}: an admin revokes it first "
            f"(`stockade agent revoke {holder}`) or makes a token with "
            f"`stockade token create --replace-host {host_id}`",
            409,
        )
    return EnrollmentRefused(str(outcome.token))


class EnrollmentService:
    """Checks a token once, signs the agent's CSR and records the agent with its host."""

    def __init__(
        self,
        store: Store,
        runner: StoreRunner,
        ca: CertificateAuthority,
        cert_validity: dt.timedelta = AGENT_CERT_VALIDITY,
    ) -> None:
        self._store = enrollment_store(store)
        self._runner = runner
        self._ca = ca
        self._validity = cert_validity

    def _enroll(self, request: EnrollRequest) -> EnrollResponse:
        load_csr(request.csr_pem)  # refuse a bad CSR before spending the token
        agent_id = uuid.uuid4().hex
        now = time.time_ns()
        cert = self._ca.sign_agent_csr(request.csr_pem, agent_id, self._validity)
        agent = AgentRecord(
            id=agent_id,
            hostname=request.host.hostname,
            host_id=request.host.id,
            cert_fingerprint=fingerprint(cert),
            enrolled_at=now,
        )
        outcome = self._store.enroll_agent(token_hash(request.token), now, agent)
        if not outcome.done:
            raise refusal(outcome, request.host.id)
        if outcome.host is HostClaim.REPLACED:
            log.warning(
                "agent %s enrolled on host %s with a replacing token; revoked %s",
                agent_id,
                request.host.id,
                ", ".join(outcome.holders),
            )
        return EnrollResponse(
            agent_id=agent_id,
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            ca_pem=self._ca.cert_pem,
        )

    async def enroll(self, request: EnrollRequest) -> EnrollResponse:
        """Enroll an agent; EnrollmentRefused or CsrError say why not."""
        return await self._runner.write(self._enroll, request)
