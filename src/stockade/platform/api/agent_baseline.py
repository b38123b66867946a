"""The agent port's baseline route: one run of the baseline policies, stored per host.

POST /api/v1/agent/baseline   JSON BaselineReport -> 200 {"stored": n policies};
                              403 a host other than the agent's; 413 too large; 422 bad body
"""

from __future__ import annotations

from typing import cast

import msgspec
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from stockade.model.baseline import BASELINE_PATH, BaselineReport
from stockade.platform.api.agent_schema import errors, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.store.sqlite_baseline import BaselineStore

MAX_BODY_BYTES = 8 * 1024 * 1024
router = APIRouter()


class BaselineStored(BaseModel):
    """How many policies' results were stored."""

    stored: int


@router.post(
    BASELINE_PATH,
    openapi_extra=wire_body(BaselineReport),
    response_model=BaselineStored,
    responses=errors(401, 403, 413, 422),
)
async def baseline(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Store the calling agent's baseline results for its host."""
    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge as e:
        return error(413, str(e))
    try:
        report = msgspec.json.decode(body, type=BaselineReport)
    except (msgspec.DecodeError, RecursionError) as e:
        return error(422, f"bad baseline report: {e}")
    if report.host_id != agent.host_id:
        return error(
            403, f"report names host {report.host_id!r}, but this agent is {agent.host_id!r}"
        )
    store = cast(BaselineStore, services.store)
    stored = await services.runner.write(store.record_baseline, report)
    return json_response({"stored": stored})
