"""Agent enrollment: one-time tokens (stored hashed) exchanged for a signed client cert."""

from __future__ import annotations

import datetime as dt
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
from stockade.platform.store import AgentRecord, Store, TokenState
from stockade.platform.store.runner import StoreRunner


class EnrollmentRefused(PlatformError):
    """The enrollment token or request cannot be used; the message says why."""


def create_token(store: Store, ttl_s: int) -> str:
    """A new one-time enrollment token valid for `ttl_s` seconds."""
    if ttl_s <= 0:
        raise PlatformError(f"token ttl must be positive, got {ttl_s} s")
    token = new_token()
    store.add_enrollment_token(token_hash(token), time.time_ns() + ttl_s * 1_000_000_000)
    return token


class EnrollmentService:
    """Checks a token once, signs the agent's CSR and records the agent with its host."""

    def __init__(
        self,
        store: Store,
        runner: StoreRunner,
        ca: CertificateAuthority,
        cert_validity: dt.timedelta = AGENT_CERT_VALIDITY,
    ) -> None:
        self._store = store
        self._runner = runner
        self._ca = ca
        self._validity = cert_validity

    def _enroll(self, request: EnrollRequest) -> EnrollResponse:
        load_csr(request.csr_pem)  # refuse a bad CSR before spending the token
        agent_id = uuid.uuid4().hex
        now = time.time_ns()
        state = self._store.claim_enrollment_token(token_hash(request.token), now, agent_id)
        if state is not TokenState.CLAIMED:
            raise EnrollmentRefused(str(state))
        cert = self._ca.sign_agent_csr(request.csr_pem, agent_id, self._validity)
        self._store.add_agent(
            AgentRecord(
                id=agent_id,
                hostname=request.host.hostname,
                host_id=request.host.id,
                cert_fingerprint=fingerprint(cert),
                enrolled_at=now,
            )
        )
        return EnrollResponse(
            agent_id=agent_id,
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            ca_pem=self._ca.cert_pem,
        )

    async def enroll(self, request: EnrollRequest) -> EnrollResponse:
        """Enroll an agent; EnrollmentRefused or CsrError say why not."""
        return await self._runner.write(self._enroll, request)
