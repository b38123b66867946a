"""The `Store` interface (SQLite and PostgreSQL), its records, queries and registry.

A store's methods block: the platform calls them from worker threads (see `StoreRunner`),
never on the event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.inventory import ScanResult
from stockade.model.wire import Heartbeat
from stockade.platform.errors import PlatformError
from stockade.platform.messages import IngestBatch
from stockade.registry import Registry

DEFAULT_QUERY_BUDGET_S = 2.0  # a query past it would hold a reader thread and the CPU


class StoreError(PlatformError):
    """The store cannot do what was asked."""


class SequenceGapError(StoreError):
    """A batch starts after the next expected sequence number."""

    def __init__(self, first_seq: int, acked_seq: int) -> None:
        super().__init__(
            f"batch starts at seq {first_seq} but only up to {acked_seq} is stored; "
            f"resend from {acked_seq + 1}"
        )
        self.acked_seq = acked_seq


class QueryTimeout(StoreError):
    """A query ran past its time budget and was stopped."""


class UnknownAgentError(StoreError):
    """The agent id is not enrolled."""


class RecordKind(enum.StrEnum):
    """What retention deletes: the two kinds of record that grow with activity."""

    EVENTS = "events"
    ALERTS = "alerts"


class TokenState(enum.StrEnum):
    """The outcome of claiming an enrollment token."""

    CLAIMED = "claimed"
    UNKNOWN = "unknown enrollment token"
    USED = "enrollment token already used"
    EXPIRED = "enrollment token expired"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A console user, the hash of its password and its role (a `Role` value)."""

    id: int
    username: str
    password_hash: str
    role: str


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """A named, expiring API token of a user (only its hash is stored)."""

    id: str  # the start of the token's hash: enough to name it, useless to log in
    name: str
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One state-changing call: who, what, when, from where, and the answer's status."""

    ts: int
    username: str  # "" when the caller was not logged in
    method: str
    path: str
    status: int
    source: str  # the client's address


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An enrolled agent and what it last reported."""

    id: str
    hostname: str
    host_id: str
    cert_fingerprint: str
    enrolled_at: int
    acked_seq: int = 0
    last_seen: int = 0
    status: str = "enrolled"
    version: str = ""
    spooled_seq: int = 0
    sensor: dict[str, Any] | None = None  # the last heartbeat's SensorStatus as builtins
    records_refused: int = 0  # records the platform refused and the agent then gave up on
    revoked_at: int | None = None  # set once: its certificates are refused from then on
    previous_fingerprint: str = ""  # the certificate renewal replaced (still accepted)
    events_per_s: float = 0.0  # sensor events per second between its last two heartbeats

    def accepts(self, cert_fingerprint: str) -> bool:
        """True when a certificate with this fingerprint may speak for this agent."""
        if self.revoked_at is not None or not cert_fingerprint:
            return False
        return cert_fingerprint in (self.cert_fingerprint, self.previous_fingerprint)


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """A container seen in stored events; one record per (container id, reporting agent)."""

    id: str
    name: str
    image: str
    image_digest: str
    runtime: str
    first_seen: int
    last_seen: int
    host_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for stored events; every set field must match. Newest first."""

    since: int | None = None
    until: int | None = None
    host: str | None = None  # host id or agent hostname
    container: str | None = None  # full id, 12-char id or name
    type: str | None = None
    proc_name: str | None = None
    limit: int = 100
    budget_s: float = DEFAULT_QUERY_BUDGET_S  # past this the store stops (QueryTimeout)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for stored alerts; every set field must match. Newest first."""

    since: int | None = None
    until: int | None = None
    host: str | None = None
    container: str | None = None
    rule: str | None = None
    priority: str | None = None  # exact Falco spelling, case-insensitive
    min_priority: int | None = None  # Priority value: this severe or more
    limit: int = 100
    budget_s: float = DEFAULT_QUERY_BUDGET_S  # past this the store stops (QueryTimeout)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored, with the agent that sent it."""

    agent_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as stored, with the agent, its process and its container where known."""

    agent_id: str
    alert: Alert
    proc_name: str
    proc_pid: int
    proc_cmdline: str
    container: ContainerRecord | None
    incident_id: int | None = None  # the incident grouping put it in (None until grouped)


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """A scanned image: its names, OS, when it was seen and scanned, and its finding counts."""

    digest: str  # the key: manifest digest (config digest when no manifest is known)
    names: tuple[str, ...]
    os: str
    first_seen: int
    last_seen: int
    scanned_at: int
    agent_id: str  # who sent this scan; "" for an upload through the console API
    target: str  # the reference the latest scan read
    packages: int
    by_severity: dict[str, int]  # Severity name -> findings
    by_kind: dict[str, int]  # finding kind -> findings
    max_severity: int = -1  # the worst finding's Severity value; -1 without findings


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """Filters for scanned images; every set field must match. Most recently scanned first."""

    name: str | None = None  # substring of a name, or a digest prefix
    min_severity: int | None = None  # images with a finding this severe or more
    limit: int = 100


@dataclass(frozen=True, slots=True)
class StoredScan:
    """The latest scan of an image with the image's record."""

    image: ImageRecord
    result: ScanResult


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What storing a batch did."""

    acked_seq: int
    events_stored: int
    alerts_stored: int


class Store(Protocol):
    """Durable state of the platform: accounts, agents, events, alerts, containers."""

    def close(self) -> None:
        """Release connections."""

    def create_user(self, username: str, password_hash: str, role: str) -> bool:
        """Add a user; False when the name exists already."""

    def get_user(self, username: str) -> UserRecord | None:
        """The user with this name, if any."""

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""

    def set_role(self, username: str, role: str) -> bool:
        """Change a user's role; False when there is no such user."""

    def set_password(self, username: str, password_hash: str, keep_token_hash: str) -> bool:
        """Change a password and end the user's other login sessions; False if no such user."""

    def replace_password_hash(self, username: str, old_hash: str, new_hash: str) -> bool:
        """Swap a password's hash for another of the same password (sessions stay), only if
        it is still `old_hash`; False otherwise."""

    def delete_user(self, username: str) -> bool:
        """Remove a user with its sessions and API tokens; False when there is no such user."""

    def add_session(
        self, token_hash: str, user_id: int, expires_at: int, name: str | None = None
    ) -> None:
        """Remember a login session (or, with a name, an API token) by its token's hash."""

    def session_user(self, token_hash: str, now: int) -> UserRecord | None:
        """The user of a live session or API token, else None."""

    def delete_session(self, token_hash: str) -> None:
        """End a login session."""

    def list_api_tokens(self, user_id: int, now: int) -> list[ApiTokenRecord]:
        """A user's unexpired API tokens, newest first."""

    def delete_api_token(self, user_id: int, token_id: str) -> bool:
        """Revoke one of a user's API tokens; False when it has none with that id."""

    def add_audit(self, record: AuditRecord) -> None:
        """Append a state-changing call to the audit log."""

    def list_audit(self, limit: int) -> list[AuditRecord]:
        """The newest audit log entries, newest first."""

    def add_enrollment_token(self, token_hash: str, expires_at: int) -> None:
        """Remember a one-time enrollment token by its hash."""

    def add_agent(self, agent: AgentRecord) -> None:
        """Record a newly enrolled agent."""

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        """One agent, if enrolled."""

    def list_agents(self) -> list[AgentRecord]:
        """Every enrolled agent."""

    def revoke_agent(self, agent_id: str, now: int) -> bool:
        """Refuse the agent's certificates from now on; False when no such agent is enrolled."""

    def replace_agent_cert(self, agent_id: str, cert_fingerprint: str) -> None:
        """Make a renewed certificate current (the one it replaces stays accepted)."""

    def record_heartbeat(self, heartbeat: Heartbeat, now: int) -> None:
        """Store an agent's status report on its row; UnknownAgentError if not enrolled."""

    def acked_seq(self, agent_id: str) -> int:
        """The highest sequence stored for the agent (all below it are stored too)."""

    def store_batch(self, batch: IngestBatch, now: int) -> BatchResult:
        """Store the not-yet-stored part of a batch in one transaction.

        Raises SequenceGapError when the batch starts past acked_seq + 1.
        """

    def prune(self, kind: RecordKind, before_ts: int | None, limit: int) -> int:
        """Delete up to `limit` of the oldest records of `kind` (only those with a time
        before `before_ts` when given) in one short transaction; returns how many."""

    def used_bytes(self) -> int:
        """Bytes the stored data occupies (space freed by `prune` is reused first)."""

    def query_events(self, query: EventQuery) -> list[StoredEvent]:
        """Events matching the query, newest first; QueryTimeout past its budget."""

    def query_alerts(self, query: AlertQuery) -> list[StoredAlert]:
        """Alerts matching the query, newest first; QueryTimeout past its budget."""

    def list_containers(self) -> list[ContainerRecord]:
        """Containers seen in stored events, most recently seen first."""

    def store_scan(self, image: ImageRecord, result: ScanResult) -> ImageRecord:
        """Keep `result` as `image.agent_id`'s scan of the image (replacing only that agent's
        older one) and as the image's latest; merge names.

        Returns the record as stored (first_seen and names carried over from before).
        """

    def has_scan(self, digest: str, agent_id: str) -> bool:
        """True when this agent or a user stored a scan of this image digest."""

    def agent_may_scan(self, agent_id: str, digest: str) -> bool:
        """True when the agent reported a container running this image or a user asked."""

    def request_scan(self, digest: str, username: str, now: int) -> None:
        """Let agents upload scans of this image digest (a user asked for one)."""

    def list_images(self, query: ImageQuery) -> list[ImageRecord]:
        """Scanned images matching the query, most recently scanned first."""

    def get_scan(self, digest: str) -> StoredScan | None:
        """The latest scan of the image, if any."""


StoreFactory = Callable[[str], Store]  # location: a file path or a URL
STORES: Registry[StoreFactory] = Registry("store")
