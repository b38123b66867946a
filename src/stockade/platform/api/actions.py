"""User API for response actions: order one on an agent, list the audit trail, the catalog.

Every user may read the trail; ordering needs the analyst role or higher. An order is
answered 202 with the pending record, or 200 with the ended one when the agent reported
within `wait_s` seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from stockade.model.actions import ActionRecord, ActionStatus, ActionTarget
from stockade.platform.api.bodies import json_response
from stockade.platform.api.deps import Services, current_user, require
from stockade.platform.api.http_errors import error_responses, hinted_pattern
from stockade.platform.services.accounts import Principal
from stockade.platform.services.actions import ActionRefused
from stockade.platform.services.roles import Role
from stockade.platform.store.sqlite_actions import ActionQuery
from stockade.platform.timestamps import format_ns
from stockade.respond.base import RESPONSE_ACTIONS

MAX_LIMIT = 10_000
_CURSOR = hinted_pattern(r"^[0-9]{1,19}\.[!-~]{1,128}$", "pass next_cursor as it is")
router = APIRouter(prefix="/api/v1", tags=["actions"], dependencies=[Depends(current_user)])
Responder = Annotated[Principal, Depends(require(Role.ANALYST))]


class TargetModel(BaseModel):
    """What an action acts on: each action needs some of these (see /actions/catalog)."""

    container_id: str = Field("", max_length=64, description="full id or unique hex prefix")
    pid: int = Field(0, ge=0, le=2**22, description="a process id on the agent's host")
    path: str = Field("", max_length=4096, description="a file, inside the container if given")
    allow: list[str] = Field(
        default_factory=list, max_length=64, description="isolation: addresses still allowed"
    )
    table: str = Field("", max_length=64, description="query_table: an inventory table")


class ActionRequest(BaseModel):
    """An order: which action, on which agent, on what."""

    action: str = Field(max_length=64, description="a name from /actions/catalog")
    agent_id: str = Field(max_length=128)
    target: TargetModel = Field(default_factory=TargetModel)  # type: ignore[arg-type]
    wait_s: float = Field(0, ge=0, le=10, description="wait this long for the agent's result")


class TriggerView(BaseModel):
    """Who or what asked for an action."""

    kind: str = Field(description="user | policy")
    user: str
    policy: str
    alert_id: str
    rule: str


class ActionView(BaseModel):
    """One entry of the audit trail."""

    id: str
    action: str
    agent_id: str
    host_id: str
    target: TargetModel
    trigger: TriggerView
    status: ActionStatus
    requested_at: str
    completed_at: str | None
    detail: str
    error: str
    data: dict[str, str]


class ActionPage(BaseModel):
    """One page of the trail; pass `next_cursor` as `cursor` for the next (null: the last)."""

    items: list[ActionView]
    next_cursor: str | None = Field(description="null on the last page")


def page_cursor(record: ActionRecord) -> str:
    """The cursor of the page after `record`: its request time and id."""
    return f"{record.requested_at}.{record.id}"


def parse_cursor(text: str) -> tuple[int, str]:
    """(requested_at, id) from a cursor (the pattern has checked its shape)."""
    requested_at, _, action_id = text.partition(".")
    return int(requested_at), action_id


class ActionKind(BaseModel):
    """An action agents can take."""

    name: str
    summary: str
    needs: list[str]


ENDED: dict[int | str, dict[str, Any]] = {
    200: {"model": ActionView, "description": "the agent reported within wait_s"}
}


def action_view(record: ActionRecord) -> ActionView:
    """A stored record as the API shows it (times in RFC 3339)."""
    target = record.target
    trigger = record.trigger
    return ActionView(
        id=record.id,
        action=record.action,
        agent_id=record.agent_id,
        host_id=record.host_id,
        target=TargetModel(
            container_id=target.container_id,
            pid=target.pid,
            path=target.path,
            allow=list(target.allow),
            table=target.table,
        ),
        trigger=TriggerView(
            kind=trigger.kind,
            user=trigger.user,
            policy=trigger.policy,
            alert_id=trigger.alert_id,
            rule=trigger.rule,
        ),
        status=record.status,
        requested_at=format_ns(record.requested_at),
        completed_at=format_ns(record.completed_at) if record.completed_at else None,
        detail=record.detail,
        error=record.error,
        data=record.data,
    )


@router.get("/actions/catalog", response_model=list[ActionKind])
async def catalog() -> list[ActionKind]:
    """The actions agents can take and the target fields each needs."""
    return [
        ActionKind(name=name, summary=action.summary, needs=list(action.needs))
        for name, action in RESPONSE_ACTIONS.items()
    ]


@router.get("/actions", response_model=ActionPage)
async def trail(
    services: Services,
    agent_id: str | None = None,
    action: str | None = None,
    status: ActionStatus | None = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", pattern=_CURSOR)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many")] = 100,
) -> ActionPage:
    """The audit trail of response actions (users' orders and policies'), newest first,
    a page at a time (keyset: actions added meanwhile never shift the later pages)."""
    query = ActionQuery(
        agent_id=agent_id,
        action=action,
        status=str(status) if status is not None else None,
        limit=limit + 1,  # one more tells whether a next page exists
        after=parse_cursor(cursor) if cursor else None,
    )
    found = await services.actions.trail(query)
    shown = found[:limit]
    more = len(found) > limit
    return ActionPage(
        items=[action_view(r) for r in shown],
        next_cursor=page_cursor(shown[-1]) if more else None,
    )


@router.get("/actions/{action_id}", response_model=ActionView, responses=error_responses(404))
async def one(action_id: str, services: Services) -> ActionView:
    """One action of the trail."""
    record = await services.actions.get(action_id)
    if record is None:
        raise HTTPException(404, f"no action {action_id!r}")
    return action_view(record)


@router.post(
    "/actions",
    status_code=202,
    response_model=ActionView,
    responses={**ENDED, **error_responses(404)},
)
async def order(body: ActionRequest, services: Services, user: Responder) -> Response:
    """Order an action on an agent; the agent runs it and reports (see GET /actions/{id})."""
    target = ActionTarget(
        container_id=body.target.container_id,
        pid=body.target.pid,
        path=body.target.path,
        allow=tuple(body.target.allow),
        table=body.target.table,
    )
    try:
        record = await services.actions.order(user.username, body.agent_id, body.action, target)
    except ActionRefused as e:
        raise HTTPException(e.status, e.reason) from e
    if body.wait_s > 0:
        record = await services.actions.wait_ended(record.id, body.wait_s) or record
    status = 202 if record.status == ActionStatus.PENDING else 200
    return json_response(action_view(record).model_dump(mode="json"), status=status)
