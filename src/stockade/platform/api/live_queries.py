"""User API for live queries: ask the agents of chosen hosts for one inventory table now.

Each agent gets a `query_table` order over its order channel (a long poll it holds open,
answered as soon as the order is stored), collects the table and reports the rows with the
action, so a live query is also in the action trail. A live query's grouping of its orders
is kept in memory (the answers stay in the trail across restarts).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from stockade.model.actions import ActionRecord, ActionTarget
from stockade.platform.api.deps import Services, current_user, require
from stockade.platform.services import PlatformServices
from stockade.platform.services.accounts import Principal
from stockade.platform.services.actions import MAX_WAIT_S, ActionRefused
from stockade.platform.services.roles import Role

router = APIRouter(prefix="/api/v1", tags=["hunting"], dependencies=[Depends(current_user)])
Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]
_QUERIES = "live_queries"


class LiveQueryBody(BaseModel):
    """Which table to collect, on which agents, and how long to wait for the answers."""

    table: str = Field(pattern=r"^[a-z_]{1,64}$", description="an osquery table name")
    agent_ids: list[str] = Field(min_length=1, max_length=1000)
    wait_s: float = Field(0, ge=0, le=MAX_WAIT_S, description="wait this long for answers")


class HostAnswer(BaseModel):
    """One agent's answer: pending, done with rows, or failed with a one-line error."""

    agent_id: str
    host_id: str
    action_id: str
    status: str
    error: str
    rows: list[dict[str, Any]]


class LiveQueryView(BaseModel):
    """A live query and each agent's answer so far."""

    id: str
    table: str
    answers: list[HostAnswer]


def _answer(record: ActionRecord) -> HostAnswer:
    rows = json.loads(record.data.get("rows", "[]")) if record.data else []
    return HostAnswer(
        agent_id=record.agent_id,
        host_id=record.host_id,
        action_id=record.id,
        status=str(record.status),
        error=record.error,
        rows=rows,
    )


async def _view(
    services: PlatformServices, query_id: str, table: str, ids: list[str]
) -> LiveQueryView:
    records = [await services.actions.get(action_id) for action_id in ids]
    answers = [_answer(r) for r in records if r is not None]
    return LiveQueryView(id=query_id, table=table, answers=answers)


def _queries(request: Request) -> dict[str, tuple[str, list[str]]]:
    if not hasattr(request.app.state, _QUERIES):
        setattr(request.app.state, _QUERIES, {})
    queries: dict[str, tuple[str, list[str]]] = getattr(request.app.state, _QUERIES)
    return queries


@router.post("/live-queries", response_model=LiveQueryView, status_code=201)
async def start_live_query(
    body: LiveQueryBody, request: Request, services: Services, user: Analyst
) -> LiveQueryView:
    """Order the table from every agent; answers so far (all, when they come within wait_s)."""
    target = ActionTarget(table=body.table)
    ids: list[str] = []
    for agent_id in dict.fromkeys(body.agent_ids):
        try:
            record = await services.actions.order(user.username, agent_id, "query_table", target)
        except ActionRefused as e:
            raise HTTPException(e.status, e.reason) from e
        ids.append(record.id)
    query_id = str(uuid.uuid4())
    _queries(request)[query_id] = (body.table, ids)
    if body.wait_s > 0:
        await asyncio.gather(*(services.actions.wait_ended(i, body.wait_s) for i in ids))
    return await _view(services, query_id, body.table, ids)


@router.get("/live-queries/{query_id}", response_model=LiveQueryView)
async def live_query(
    query_id: Annotated[str, Path(max_length=64)], request: Request, services: Services
) -> LiveQueryView:
    """A live query's answers so far; 404 for an unknown id (or one from before a restart)."""
    found = _queries(request).get(query_id)
    if found is None:
        raise HTTPException(404, f"no live query {query_id}")
    return await _view(services, query_id, *found)
