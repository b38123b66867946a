"""Response actions as agent and platform exchange them: target, trigger, result, record."""

from __future__ import annotations

import enum

import msgspec


class ActionStatus(enum.StrEnum):
    """Where an action stands: ordered and waiting, or ended one way or another."""

    PENDING = "pending"  # ordered by a user, not yet reported by the agent
    DONE = "done"
    FAILED = "failed"
    DRY_RUN = "dry-run"  # a dry-run policy matched: recorded, not done


class ActionTarget(msgspec.Struct, frozen=True, kw_only=True):
    """What an action acts on; each action says which of these it needs."""

    container_id: str = ""  # full id or a unique prefix
    pid: int = 0  # a host pid
    path: str = ""  # a file path, inside the container when container_id is set
    allow: tuple[str, ...] = ()  # isolation: addresses (or CIDRs) still allowed both ways
    table: str = ""  # a live query: the inventory table to collect now


class Trigger(msgspec.Struct, frozen=True, kw_only=True):
    """Who or what asked: a user, or a policy on an alert."""

    kind: str  # "user" | "policy"
    user: str = ""
    policy: str = ""
    alert_id: str = ""  # the alert's uuid
    rule: str = ""


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one action did: done or failed, a one-line detail or error, typed extras."""

    status: ActionStatus
    detail: str = ""
    error: str = ""  # one line, never a traceback
    data: dict[str, str] = msgspec.field(default_factory=dict)


class ActionRecord(msgspec.Struct, kw_only=True):
    """One entry of the audit trail: the order, who gave it, and how it ended."""

    id: str
    action: str
    target: ActionTarget
    trigger: Trigger
    agent_id: str = ""
    host_id: str = ""
    requested_at: int = 0  # ns since the epoch
    completed_at: int = 0  # 0 while pending
    status: ActionStatus = ActionStatus.PENDING
    detail: str = ""
    error: str = ""
    data: dict[str, str] = msgspec.field(default_factory=dict)

    def ended(self, result: ActionResult, at: int) -> ActionRecord:
        """This record with `result` taken in, completed at `at`."""
        return msgspec.structs.replace(
            self,
            status=result.status,
            detail=result.detail,
            error=result.error,
            data=result.data,
            completed_at=at,
        )


class ActionOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A user's order the platform hands to an agent (`GET /api/v1/agent/orders`)."""

    id: str
    action: str
    target: ActionTarget
    trigger: Trigger
    requested_at: int


class ActionReport(msgspec.Struct, kw_only=True):
    """Records an agent reports back (`POST /api/v1/agent/actions`): orders and policy actions."""

    records: list[ActionRecord]


class OrdersAnswer(msgspec.Struct, kw_only=True):
    """The answer to an agent's long poll: its pending orders, and the pushed policies' version."""

    orders: list[ActionOrder]
    policy_version: int = 0  # 0: no policies pushed; another number: fetch them


class PolicyPush(msgspec.Struct, kw_only=True):
    """The response policies the platform pushes to every agent (`GET /api/v1/agent/policies`)."""

    yaml: str
    version: int
