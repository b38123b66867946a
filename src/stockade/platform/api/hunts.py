"""User API for saved hunts (`/api/v1/hunts`): list, read, create, change and delete.

Every user may read; changes need the analyst role or higher. A hunt is checked by running
it once over the last hour before it is stored, so a refused query is a 400 at once.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from stockade.hunt.engine import HuntError, HuntQuery
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.hunt import store_hunting
from stockade.platform.api.params import INT64_MAX
from stockade.platform.services import PlatformServices
from stockade.platform.services.accounts import Principal
from stockade.platform.store.sqlite_hunts import HuntNameTaken, SavedHunt, SavedHunts

router = APIRouter(prefix="/api/v1", tags=["hunting"], dependencies=[Depends(current_user)])
HuntId = Annotated[int, Path(ge=1, le=INT64_MAX, description="a saved hunt's id")]
PRIORITY = "^(Emergency|Alert|Critical|Error|Warning|Notice|Informational|Debug)$"


class SavedHuntBody(BaseModel):
    """A saved hunt as a user writes it."""

    name: str = Field(min_length=1, max_length=200)
    sql: str = Field(min_length=1, max_length=20_000, description="one SELECT statement")
    interval_s: int = Field(300, ge=1, le=7 * 86400, description="how often it runs")
    priority: str = Field("Warning", pattern=PRIORITY, description="its alerts' priority")
    enabled: bool = True


class SavedHuntView(SavedHuntBody):
    """A stored hunt and how its last run went."""

    id: int
    created_by: str
    created_at: int
    last_run_at: int
    last_rows: int
    last_error: str
    alerts: int


def _hunts(services: PlatformServices) -> SavedHunts:
    return store_hunting(services).saved


def _view(hunt: SavedHunt) -> SavedHuntView:
    return SavedHuntView(
        id=hunt.id,
        name=hunt.name,
        sql=hunt.sql,
        interval_s=hunt.interval_s,
        priority=hunt.priority,
        enabled=bool(hunt.enabled),
        created_by=hunt.created_by,
        created_at=hunt.created_at,
        last_run_at=hunt.last_run_at,
        last_rows=hunt.last_rows,
        last_error=hunt.last_error,
        alerts=hunt.alerts,
    )


def _check(services: PlatformServices, sql: str) -> None:
    now = time.time_ns()
    try:
        store_hunting(services).source.run(HuntQuery(sql, since=now - 3600 * 10**9, limit=1), now)
    except HuntError as e:
        raise HTTPException(400, str(e)) from None


@router.get("/hunts", response_model=list[SavedHuntView])
def list_hunts(services: Services) -> list[SavedHuntView]:
    """Every saved hunt."""
    return [_view(h) for h in _hunts(services).list()]


@router.get("/hunts/{hunt_id}", response_model=SavedHuntView)
def get_hunt(hunt_id: HuntId, services: Services) -> SavedHuntView:
    """One saved hunt; 404 when there is none."""
    hunt = _hunts(services).get(hunt_id)
    if hunt is None:
        raise HTTPException(404, f"no saved hunt {hunt_id}")
    return _view(hunt)


@router.post("/hunts", response_model=SavedHuntView, status_code=201)
def create_hunt(
    body: SavedHuntBody, services: Services, user: Annotated[Principal, Depends(current_user)]
) -> SavedHuntView:
    """Store a hunt (checked by one run first); 409 when its name is taken."""
    _check(services, body.sql)
    hunts = _hunts(services)
    try:
        hunt_id = hunts.create(
            body.name, body.sql, body.interval_s, body.priority, user.username, time.time_ns()
        )
    except HuntNameTaken as e:
        raise HTTPException(409, str(e)) from None
    if not body.enabled:
        hunts.update(hunt_id, body.sql, body.interval_s, body.priority, False)
    return get_hunt(hunt_id, services)


@router.put("/hunts/{hunt_id}", response_model=SavedHuntView)
def update_hunt(hunt_id: HuntId, body: SavedHuntBody, services: Services) -> SavedHuntView:
    """Change a hunt's query, schedule, priority or state (its name stays)."""
    _check(services, body.sql)
    if not _hunts(services).update(hunt_id, body.sql, body.interval_s, body.priority, body.enabled):
        raise HTTPException(404, f"no saved hunt {hunt_id}")
    return get_hunt(hunt_id, services)


@router.delete("/hunts/{hunt_id}", status_code=204)
def delete_hunt(hunt_id: HuntId, services: Services) -> None:
    """Remove a saved hunt (the alerts it raised stay)."""
    if not _hunts(services).delete(hunt_id):
        raise HTTPException(404, f"no saved hunt {hunt_id}")
