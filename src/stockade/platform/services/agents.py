"""Which agent a client certificate speaks for, revocation, and certificate renewal.

A certificate's CN names the agent; the agent's record (written at enrollment) binds it to
one host. Each check reads that record again once it is `max_age_s` old, so a revocation
made anywhere (another API node, `stockade agent revoke` on the database) is refused on
every listener within that time; a revocation made through an API node at once on every
node that hears its signal (the bus's fan-out), which drops its copy of the record.
While the store is down, the last copy stands: an agent known to be revoked stays refused,
and one whose copy was dropped by a signal cannot be identified (503) until the store is back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from stockade.platform.bus import BusError
from stockade.platform.bus.signals import LocalSignals, Signals
from stockade.platform.errors import PlatformError
from stockade.platform.pki import CertificateAuthority, common_name, fingerprint
from stockade.platform.store import AgentRecord, Store, StoreError
from stockade.platform.store.runner import StoreRunner

log = logging.getLogger(__name__)
RECHECK_AFTER_S = 2.0  # revocation reaches every listener within this (+ one request)
REVOKED = "agent-revoked"  # signal: an agent (key) was revoked; drop the copy of its record


class AgentRefused(PlatformError):
    """A certificate may not speak for an agent; `status` is the HTTP status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """The agent a verified client certificate speaks for, and the host it is bound to."""

    agent_id: str
    host_id: str
    hostname: str


class AgentService:
    """Identifies agents by certificate, revokes them and renews their certificates."""

    def __init__(
        self,
        store: Store,
        runner: StoreRunner,
        ca: CertificateAuthority,
        cert_validity: dt.timedelta,
        max_age_s: float = RECHECK_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        signals: Signals | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._ca = ca
        self._validity = cert_validity
        self._max_age_s = max_age_s
        self._clock = clock
        self._signals = signals or LocalSignals()
        self._known: dict[str, tuple[float, AgentRecord | None]] = {}

    async def listen(self) -> None:
        """Hear the other nodes' revocations from now on; BusError when the bus is out of reach."""
        await self._signals.listen(REVOKED, self._forget)

    def _forget(self, agent_id: str) -> None:
        self._known.pop(agent_id, None)

    @property
    def ca_pem(self) -> str:
        """The CA certificate agents verify the platform with (PEM)."""
        return self._ca.cert_pem

    async def _record(self, agent_id: str) -> AgentRecord | None:
        now = self._clock()
        cached = self._known.get(agent_id)
        if cached is not None and now - cached[0] < self._max_age_s:
            return cached[1]
        try:
            record = await self._runner.read_for_agent(self._store.get_agent, agent_id)
        except StoreError:
            if cached is None:
                raise
            # the store is down (a restart): nobody can revoke meanwhile, so the last copy
            # stays true, and agents keep sending to the bus rather than wait for the store
            return cached[1]
        self._known[agent_id] = (now, record)
        return record

    async def identify(self, cert: x509.Certificate) -> AgentIdentity:
        """The agent `cert` (verified by TLS) speaks for; AgentRefused when none may."""
        agent_id = common_name(cert)
        record = await self._record(agent_id)
        if record is None:
            raise AgentRefused(403, f"agent {agent_id!r} is not enrolled")
        if record.revoked_at is not None:
            raise AgentRefused(403, f"agent {agent_id!r} is revoked")
        if not record.accepts(fingerprint(cert)):
            raise AgentRefused(403, f"certificate of agent {agent_id!r} is not one issued to it")
        return AgentIdentity(agent_id, record.host_id, record.hostname)

    async def revoke(self, agent_id: str) -> bool:
        """Refuse the agent's certificates from now on; False when it is not enrolled."""
        done = await self._runner.write(self._store.revoke_agent, agent_id, time.time_ns())
        self._forget(agent_id)
        if done:
            try:  # a lost signal only leaves the other nodes to their next re-read
                await self._signals.signal(REVOKED, agent_id)
            except BusError as e:
                log.warning("cannot tell the other API nodes of revoked agent %s: %s", agent_id, e)
        return done

    def _renew(self, agent: AgentIdentity, csr_pem: str) -> str:
        cert = self._ca.sign_agent_csr(csr_pem, agent.agent_id, self._validity)
        self._store.replace_agent_cert(agent.agent_id, fingerprint(cert))
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    async def renew(self, agent: AgentIdentity, csr_pem: str) -> str:
        """A new certificate (PEM) for an agent that proved it holds a live one."""
        pem = await self._runner.write(self._renew, agent, csr_pem)
        self._known.pop(agent.agent_id, None)
        return pem
