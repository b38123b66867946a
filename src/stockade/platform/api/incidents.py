"""User API for incidents: list them by page, read one with its timeline and storyline,
and change its status, assignee or notes (analysts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from stockade.model.alerts import Priority
from stockade.model.incidents import IncidentStatus
from stockade.platform.api.bodies import json_response
from stockade.platform.api.deps import Services, current_user, require
from stockade.platform.api.http_errors import error_responses, hinted_pattern, names_pattern
from stockade.platform.api.incident_views import (
    IncidentDetailView,
    IncidentPage,
    IncidentSummary,
    detail_view,
    page_view,
    parse_cursor,
    summary_view,
)
from stockade.platform.services.accounts import Principal
from stockade.platform.services.roles import Role
from stockade.platform.store import QueryTimeout
from stockade.platform.store.incidents import IncidentChange, IncidentQuery

router = APIRouter(prefix="/api/v1", tags=["incidents"], dependencies=[Depends(current_user)])
MAX_PAGE = 500
_CURSOR = hinted_pattern(r"^-?[0-9]{1,19}\.[0-9]{1,19}$", "pass next_cursor as it is")
_PRIORITY = names_pattern([p.name for p in Priority] + ["info"])
Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]


class IncidentUpdate(BaseModel):
    """What to change; omitted fields stay. Each change is noted on the timeline."""

    status: IncidentStatus | None = None
    assignee: str | None = Field(
        None, max_length=200, description='a user\'s name, or "" to unassign'
    )
    note: str | None = Field(None, min_length=1, max_length=10_000)


def _incident_id(incident_id: int) -> int:
    if not 1 <= incident_id <= 2**63 - 1:
        raise HTTPException(404, f"no incident {incident_id}")
    return incident_id


@router.get("/incidents", response_model=IncidentPage)
async def list_incidents(
    services: Services,
    status: Annotated[list[IncidentStatus] | None, Query(description="any of these")] = None,
    min_severity: Annotated[
        str | None, Query(description="this priority or more severe", pattern=_PRIORITY)
    ] = None,
    host: Annotated[str | None, Query(description="host id or hostname")] = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", pattern=_CURSOR)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many")] = 50,
) -> Response:
    """Incidents, latest activity first, a page at a time."""
    try:
        after = parse_cursor(cursor) if cursor else None
        minimum = int(Priority.parse(min_severity)) if min_severity else None
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    query = IncidentQuery(
        statuses=tuple(status or ()),
        min_severity=minimum,
        host=host,
        after=after,
        limit=limit + 1,  # one more tells whether a next page exists
    )
    found = await services.incidents.page(query)
    return json_response(page_view(found, limit))


@router.get(
    "/incidents/{incident_id}", response_model=IncidentDetailView, responses=error_responses(404)
)
async def get_incident(incident_id: int, services: Services) -> Response:
    """One incident with its alerts, its timeline and its storyline (the process tree)."""
    _incident_id(incident_id)
    try:
        detail = await services.incidents.detail(incident_id, services.query_budget_s)
    except QueryTimeout as e:
        raise HTTPException(422, str(e)) from e
    if detail is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return json_response(detail_view(detail))


@router.patch(
    "/incidents/{incident_id}",
    response_model=IncidentSummary,
    responses=error_responses(404),
)
async def update_incident(
    incident_id: int,
    body: IncidentUpdate,
    services: Services,
    who: Analyst,
) -> Response:
    """Change an incident's status or assignee, or add a note (analysts and admins)."""
    _incident_id(incident_id)
    if body.assignee:
        known = await services.runner.read(services.store.get_user, body.assignee)
        if known is None:
            raise HTTPException(422, f"assignee: no user named {body.assignee!r}")
    change = IncidentChange(who.username, body.status, body.assignee, body.note)
    updated = await services.incidents.change(incident_id, change)
    if updated is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return json_response(summary_view(updated))
