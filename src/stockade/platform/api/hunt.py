"""User API for hunting: one read-only SQL query over the hunt views (`POST /api/v1/hunt`).

Analysts and admins may hunt (a POST); the query runs on its own read-only connection
on a worker thread, with its window, row limit and time limit (see `stockade.hunt`; on
PostgreSQL `platform/store/pg_hunt.py`).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from stockade.hunt.engine import MAX_ROWS, HuntError, HuntQuery, window
from stockade.hunt.sigma import sigma_hunt
from stockade.platform.api.deps import Services, current_user
from stockade.platform.services import PlatformServices
from stockade.platform.store.hunting import Hunting, HuntingUnavailable, hunting_of

router = APIRouter(prefix="/api/v1", tags=["hunting"], dependencies=[Depends(current_user)])


class HuntWindow(BaseModel):
    """The time window a hunt's events and alerts are limited to."""

    since: int = Field(
        0, ge=0, le=2**63 - 1, description="window start, ns since the epoch; 0: 24 h ago"
    )
    until: int = Field(0, ge=0, le=2**63 - 1, description="window end, ns since the epoch; 0: now")


class HuntBody(HuntWindow):
    """One hunt: a SELECT over the hunt views, and its guards."""

    sql: str = Field(min_length=1, max_length=20_000, description="one SELECT statement")
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="most rows returned")
    timeout_s: float = Field(10.0, gt=0, le=60, description="time limit of the query")


class HuntAnswer(BaseModel):
    """The rows a hunt found, with the window its events and alerts were limited to."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = Field(description="true: more rows matched than `limit`")
    since: int
    until: int


def store_hunting(services: PlatformServices) -> Hunting:
    """The store's hunting; 501 when the store cannot be hunted."""
    try:
        return hunting_of(services.store)
    except HuntingUnavailable as e:
        raise HTTPException(501, str(e)) from None


@router.post("/hunt", response_model=HuntAnswer)
def hunt(body: HuntBody, services: Services) -> HuntAnswer:
    """Run one read-only query; 400 with a one-line reason when it is refused or wrong."""
    query = HuntQuery(body.sql, body.since, body.until, body.limit, body.timeout_s)
    try:
        result = store_hunting(services).source.run(query)
    except HuntError as e:
        raise HTTPException(400, str(e)) from None
    return HuntAnswer(
        columns=result.columns,
        rows=result.rows,
        truncated=result.truncated,
        since=result.since,
        until=result.until,
    )


class SigmaHuntBody(HuntWindow):
    """Sigma rules (one YAML document or several) to run over stored events."""

    yaml: str = Field(min_length=1, max_length=200_000, description="Sigma rule YAML")
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="most matches returned")
    timeout_s: float = Field(30.0, gt=0, le=120, description="time limit of the hunt")


class SigmaHuntAnswer(BaseModel):
    """The stored events the rules matched, and the rules refused (with the reason)."""

    matches: list[dict[str, Any]]
    refused: list[str]
    truncated: bool
    scanned: int = Field(description="stored events judged")
    since: int
    until: int


@router.post("/hunt/sigma", response_model=SigmaHuntAnswer)
def hunt_sigma(body: SigmaHuntBody, services: Services) -> SigmaHuntAnswer:
    """Run Sigma rules as a hunt over the window's stored events."""
    try:
        since, until = window(HuntQuery("", body.since, body.until), time.time_ns())
        with tempfile.TemporaryDirectory(prefix="stockade-sigma-") as where:
            rule = Path(where) / "rule.yml"
            rule.write_text(body.yaml)
            result = sigma_hunt(
                store_hunting(services).source, [rule], (since, until), body.limit, body.timeout_s
            )
    except HuntError as e:
        raise HTTPException(400, str(e)) from None
    except UnicodeError:
        raise HTTPException(400, "sigma hunt: the YAML is not valid UTF-8 text") from None
    return SigmaHuntAnswer(
        matches=[dataclasses.asdict(m) for m in result.matches],
        refused=[r.replace(str(rule), "yaml") for r in result.refused],
        truncated=result.truncated,
        scanned=result.scanned,
        since=since,
        until=until,
    )
