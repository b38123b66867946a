"""The agent port's inventory route: an agent's collection differences, stored per host.

POST /api/v1/agent/inventory   JSON InventoryDiff (Content-Encoding zstd optional)
                               -> 200 {"changed": n}; 403 a host other than the agent's;
                               413 too large; 415 unknown encoding; 422 bad body
"""

from __future__ import annotations

import time
from typing import cast

import msgspec
import zstandard
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from stockade.host.table import TABLES
from stockade.model.host_inventory import INVENTORY_PATH, InventoryDiff
from stockade.platform.api.agent_schema import errors, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.errors import PlatformError
from stockade.platform.store.sqlite_inventory import InventoryStore

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_DECODED_BYTES = 256 * 1024 * 1024
router = APIRouter()


class InventoryStored(BaseModel):
    """How many rows the collection added or removed."""

    changed: int


class _Refused(PlatformError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _decode(body: bytes, encoding: str) -> InventoryDiff:
    if encoding == "zstd":
        try:
            body = zstandard.ZstdDecompressor().decompress(body, max_output_size=MAX_DECODED_BYTES)
        except zstandard.ZstdError as e:
            raise _Refused(422, f"bad zstd inventory body: {e}") from e
    elif encoding not in ("", "identity"):
        raise _Refused(415, f"unknown Content-Encoding {encoding!r} (zstd or none)")
    try:
        diff = msgspec.json.decode(body, type=InventoryDiff)
    except (msgspec.DecodeError, RecursionError) as e:
        raise _Refused(422, f"bad inventory difference: {e}") from e
    unknown = sorted({t.table for t in diff.tables} - set(TABLES))
    if unknown:
        raise _Refused(422, f"unknown inventory tables: {', '.join(unknown)}")
    return diff


@router.post(
    INVENTORY_PATH,
    openapi_extra=wire_body(InventoryDiff),
    response_model=InventoryStored,
    responses=errors(401, 403, 413, 415, 422),
)
async def inventory(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Store the calling agent's inventory differences for its host."""
    try:
        body = await read_body(request, MAX_BODY_BYTES)
        diff = _decode(body, request.headers.get("content-encoding", ""))
    except BodyTooLarge as e:
        return error(413, str(e))
    except _Refused as e:
        return error(e.status, str(e))
    if diff.host_id != agent.host_id:
        return error(
            403, f"inventory names host {diff.host_id!r}, but this agent is {agent.host_id!r}"
        )
    store = cast(InventoryStore, services.store)
    changed = await services.runner.write(
        store.apply_inventory, agent.agent_id, diff, time.time_ns()
    )
    return json_response({"changed": changed})
