"""User API for alerts: pages by cursor, sorting, filters, one alert, triage, dashboard stats."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from stockade.platform.api import alert_models
from stockade.platform.api.alert_views import (
    DEFAULT_ORDER,
    CursorError,
    alert_detail_view,
    console_alert_view,
    decode_cursor,
    encode_cursor,
    stats_view,
)
from stockade.platform.api.bodies import json_response
from stockade.platform.api.deps import Services, User, current_user, require
from stockade.platform.api.http_errors import error_responses
from stockade.platform.api.params import (
    INT64_MAX,
    PRIORITY_PATTERN,
    Limit,
    TimeParam,
    min_priority,
    time_ns,
)
from stockade.platform.services.roles import Role
from stockade.platform.store import QueryTimeout
from stockade.platform.store.alert_console import (
    AlertFilter,
    AlertPageQuery,
    AlertSort,
    AlertStatus,
)

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(current_user)])
Analyst = Annotated[object, Depends(require(Role.ANALYST))]
AlertId = Annotated[int, Path(ge=1, le=INT64_MAX, description="the alert's `id`")]
Text = Annotated[str | None, Query(max_length=200)]
DAY_NS = 86_400 * 1_000_000_000


@router.get("/alerts", response_model=alert_models.AlertPage, responses=error_responses(422))
async def list_alerts(
    services: Services,
    since: TimeParam = None,
    until: TimeParam = None,
    host: Annotated[str | None, Query(description="host id or agent hostname")] = None,
    agent: Annotated[str | None, Query(description="agent id")] = None,
    container: Annotated[str | None, Query(description="container id, short id or name")] = None,
    image: Annotated[str | None, Query(description="repository[:tag] or digest")] = None,
    rule: str | None = None,
    priority: Annotated[str | None, Query(description="exactly this priority")] = None,
    min_priority_name: Annotated[
        str | None,
        Query(alias="min_priority", description="this or more severe", pattern=PRIORITY_PATTERN),
    ] = None,
    status: AlertStatus | None = None,
    tag: Annotated[list[str] | None, Query(description="every one of these tags")] = None,
    q: Annotated[Text, Query(description="words in rule, output, command line or names")] = None,
    sort: AlertSort = AlertSort.TIME,
    order: Annotated[
        Literal["asc", "desc"] | None,
        Query(description="default: newest, most severe, or A to Z first"),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=1000, description="next_cursor of the previous page")
    ] = None,
    limit: Limit = 100,
) -> Response:
    """Stored alerts matching every given filter, one page at a time (keyset, by cursor)."""
    reverse = (order or DEFAULT_ORDER[sort]) != DEFAULT_ORDER[sort]
    try:
        after = decode_cursor(cursor, sort, reverse) if cursor else None
    except CursorError as e:
        raise HTTPException(422, f"cursor: {e}") from e
    found = AlertFilter(
        since=time_ns("since", since),
        until=time_ns("until", until),
        host=host,
        agent=agent,
        container=container,
        image=image,
        rule=rule,
        priority=priority,
        min_priority=min_priority(min_priority_name),
        status=status,
        tags=tuple(tag or ()),
        text=q,
    )
    query = AlertPageQuery(found, sort, reverse, after, limit, services.query_budget_s)
    try:
        page = await services.alerts.page(query)
    except QueryTimeout as e:
        raise HTTPException(422, str(e)) from e
    return json_response(
        {
            "items": [console_alert_view(a) for a in page.alerts],
            "next_cursor": encode_cursor(sort, reverse, page.next) if page.next else None,
            "sort": str(sort),
            "order": order or DEFAULT_ORDER[sort],
            "limit": limit,
        }
    )


@router.get("/alerts/stats", response_model=alert_models.AlertStats)
async def alert_stats(
    services: Services,
    since: TimeParam = None,
    until: TimeParam = None,
    buckets: Annotated[int, Query(ge=1, le=500, description="time buckets of the series")] = 48,
) -> Response:
    """Alerts over time by priority, top rules, containers and images, and triage status
    counts (default: the last 24 hours)."""
    given_end = time_ns("until", until)
    end = time.time_ns() if given_end is None else given_end
    start = time_ns("since", since)
    start = max(0, end - DAY_NS if start is None else start)  # nothing is stored before 1970
    if start >= end:
        raise HTTPException(422, "since: must be before until")
    try:
        stats = await services.alerts.stats(start, end, buckets, services.query_budget_s)
    except QueryTimeout as e:
        raise HTTPException(422, str(e)) from e
    return json_response(stats_view(stats))


@router.get(
    "/alerts/{alert_id}", response_model=alert_models.AlertDetail, responses=error_responses(404)
)
async def get_alert(alert_id: AlertId, services: Services) -> Response:
    """One alert with every field and the JSON the agent sent."""
    found = await services.alerts.get(alert_id)
    if found is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return json_response(alert_detail_view(found))


async def _set_status(
    alert_id: int, status: AlertStatus, services: Services, user: User
) -> Response:
    found = await services.alerts.set_status(alert_id, status, user.username)
    if found is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return json_response(console_alert_view(found))


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=alert_models.AlertItem,
    responses=error_responses(404),
)
async def acknowledge(alert_id: AlertId, services: Services, user: User, _: Analyst) -> Response:
    """Mark an alert acknowledged: someone is looking at it (analyst or admin)."""
    return await _set_status(alert_id, AlertStatus.ACKNOWLEDGED, services, user)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=alert_models.AlertItem,
    responses=error_responses(404),
)
async def resolve(alert_id: AlertId, services: Services, user: User, _: Analyst) -> Response:
    """Mark an alert resolved (analyst or admin)."""
    return await _set_status(alert_id, AlertStatus.RESOLVED, services, user)


@router.post(
    "/alerts/{alert_id}/false-positive",
    response_model=alert_models.AlertItem,
    responses=error_responses(404),
)
async def false_positive(alert_id: AlertId, services: Services, user: User, _: Analyst) -> Response:
    """Mark an alert a false positive (analyst or admin)."""
    return await _set_status(alert_id, AlertStatus.FALSE_POSITIVE, services, user)


@router.post(
    "/alerts/{alert_id}/reopen",
    response_model=alert_models.AlertItem,
    responses=error_responses(404),
)
async def reopen(alert_id: AlertId, services: Services, user: User, _: Analyst) -> Response:
    """Set an alert back to new (analyst or admin)."""
    return await _set_status(alert_id, AlertStatus.NEW, services, user)
