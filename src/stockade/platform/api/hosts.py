"""User API for hosts and their inventories: the list with risk counts first, one host's
tables and recent changes, and a page of one table (rows in osquery's column names)."""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from stockade.host.table import TABLES
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.http_errors import error_responses
from stockade.platform.services import PlatformServices
from stockade.platform.store.sqlite_baseline import BaselineStore
from stockade.platform.store.sqlite_inventory import HostSummary, InventoryStore
from stockade.platform.timestamps import format_ns

MAX_PAGE = 1000
router = APIRouter(prefix="/api/v1", tags=["hosts"], dependencies=[Depends(current_user)])
TableName = Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", description="an osquery table name")]


class RiskSummary(BaseModel):
    """What makes a host risky, first on its page."""

    open_ports: int = Field(description="rows of listening_ports (host and containers)")
    suid_files: int = Field(description="rows of suid_bin")
    packages: int = Field(description="installed OS packages (deb, rpm, apk)")
    vulnerable_packages: int | None = Field(
        description="packages with a known vulnerability; null: no vulnerability database"
    )
    failed_checks: int | None = Field(description="failed baseline checks; null: none run")


class HostView(BaseModel):
    """A host with an enrolled agent and its inventory's risk summary."""

    id: str
    hostname: str
    agent_id: str
    last_seen: str | None
    inventory_at: str | None = Field(description="when its last collection was made")
    risk: RiskSummary


class ChangeView(BaseModel):
    """A row added to or removed from one of the host's tables."""

    at: str
    table: str
    change: str = Field(description="added or removed")
    row: dict[str, Any]


class HostDetail(HostView):
    """One host: its summary, row counts per table, and its latest changes."""

    tables: dict[str, int]
    changes: list[ChangeView]


def row_schemas() -> list[dict[str, Any]]:
    """The JSON schema of each table's row (msgspec's, the encoder the agent uses)."""
    types = [t.row for _, t in TABLES.items()]
    _, components = msgspec.json.schema_components(types)
    return [
        {**components[t.__name__], "title": f"{name} row"}
        for name, t in ((n, TABLES.get(n).row) for n in TABLES)
    ]


_ROWS_SCHEMA: Any = {"items": {"anyOf": row_schemas()}}


class TablePage(BaseModel):
    """One page of a host's table, rows with osquery's columns plus container and image."""

    host_id: str
    table: str
    columns: list[str]
    total: int
    offset: int
    rows: list[dict[str, Any]] = Field(
        description="rows of the table named (one of the row schemas)",
        json_schema_extra=_ROWS_SCHEMA,
    )


def _store(services: PlatformServices) -> InventoryStore:
    return cast(InventoryStore, services.store)


def host_view(
    summary: HostSummary, vulnerable: int | None = None, failed_checks: int | None = None
) -> HostView:
    """The API's view of a stored host summary."""
    return HostView(
        id=summary.host_id,
        hostname=summary.hostname,
        agent_id=summary.agent_id,
        last_seen=format_ns(summary.last_seen) if summary.last_seen else None,
        inventory_at=format_ns(summary.inventory_at) if summary.inventory_at else None,
        risk=RiskSummary(
            open_ports=summary.open_ports,
            suid_files=summary.suid_files,
            packages=summary.packages,
            vulnerable_packages=vulnerable,
            failed_checks=failed_checks,
        ),
    )


async def _summary(services: PlatformServices, host_id: str) -> HostSummary:
    summaries = await services.runner.read(_store(services).host_summaries)
    found = [s for s in summaries if s.host_id == host_id]
    if not found:
        raise HTTPException(404, f"no host {host_id!r} has an enrolled agent")
    return found[0]


async def _vulnerable(services: PlatformServices, summary: HostSummary) -> int | None:
    return await services.runner.read(
        services.host_risk.vulnerable_packages,
        _store(services),
        summary.host_id,
        summary.inventory_at,
    )


async def _failed_checks(services: PlatformServices) -> dict[str, int]:
    """Failed checks of each host's newest run of every policy; hosts never checked are absent."""
    runs = await services.runner.read(cast(BaselineStore, services.store).fleet_baseline)
    failed: dict[str, int] = {}
    for run in runs:
        failed[run.host_id] = failed.get(run.host_id, 0) + run.failed
    return failed


async def _host_view(
    services: PlatformServices, summary: HostSummary, failed: dict[str, int]
) -> HostView:
    vulnerable = await _vulnerable(services, summary)
    return host_view(summary, vulnerable, failed.get(summary.host_id))


@router.get("/hosts", response_model=list[HostView])
async def hosts(services: Services) -> list[HostView]:
    """Every host with an enrolled agent, with its risk summary."""
    summaries = await services.runner.read(_store(services).host_summaries)
    failed = await _failed_checks(services)
    return [await _host_view(services, s, failed) for s in summaries]


@router.get("/hosts/{host_id}", response_model=HostDetail, responses=error_responses(404))
async def host(host_id: str, services: Services) -> HostDetail:
    """One host: risk summary, row counts per table, latest inventory changes."""
    summary = await _summary(services, host_id)
    store = _store(services)
    tables = await services.runner.read(store.inventory_tables, host_id)
    changes = await services.runner.read(store.inventory_changes, host_id, 50)
    return HostDetail(
        **(await _host_view(services, summary, await _failed_checks(services))).model_dump(),
        tables={name: tables.get(name, 0) for name in sorted(set(TABLES) | set(tables))},
        changes=[
            ChangeView(at=format_ns(at), table=t, change=c, row=json.loads(r))
            for at, t, c, r in changes
        ],
    )


@router.get(
    "/hosts/{host_id}/changes", response_model=list[ChangeView], responses=error_responses(404)
)
async def host_changes(
    host_id: str,
    services: Services,
    table: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$", description="one table")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many")] = 100,
) -> list[ChangeView]:
    """Rows added to and removed from the host's tables, newest first."""
    await _summary(services, host_id)
    changes = await services.runner.read(_store(services).inventory_changes, host_id, limit, table)
    return [
        ChangeView(at=format_ns(at), table=t, change=c, row=json.loads(r))
        for at, t, c, r in changes
    ]


@router.get(
    "/hosts/{host_id}/inventory/{table}",
    response_model=TablePage,
    responses=error_responses(404),
)
async def inventory_table(
    host_id: str,
    table: TableName,
    services: Services,
    offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many")] = 100,
) -> TablePage:
    """A page of one inventory table of one host."""
    if table not in TABLES:
        raise HTTPException(404, f"unknown inventory table {table!r}")
    await _summary(services, host_id)
    page = await services.runner.read(
        _store(services).inventory_rows, host_id, table, offset, limit
    )
    return TablePage(
        host_id=host_id,
        table=table,
        columns=list(TABLES.get(table).row.__struct_fields__),
        total=page.total,
        offset=offset,
        rows=[json.loads(r) for r in page.rows],
    )
