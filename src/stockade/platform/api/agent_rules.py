"""The agent port's custom rules routes: the bundle down, what the agent loaded up.

GET  /api/v1/agent/rules?revision=N -> 200 RuleBundle: the custom rule files and switched
                                       rules (only `unchanged` when the revision is still N)
POST /api/v1/agent/rules            JSON RuleLoadReport -> 200 {"stored": 1}
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, HTTPException, Query, Request, Response

from stockade.platform.api.agent_schema import ActionsStored, errors, wire_answer, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.api.rules import rule_service
from stockade.rules.custom import RuleBundle, RuleLoadReport

MAX_REPORT_BYTES = 64 * 1024
router = APIRouter(prefix="/api/v1/agent")


@router.get("/rules", responses={**wire_answer(RuleBundle), **errors(401, 403, 404, 422)})
async def bundle(
    services: Services, agent: CallingAgent, revision: Annotated[int, Query(ge=-1)] = -1
) -> Response:
    """The custom rules, unless they are still at `revision` (then only `unchanged`)."""
    del agent  # any enrolled agent may read them
    try:
        rules = rule_service(services)
    except HTTPException:
        return error(404, "this platform keeps no custom rules")
    return json_response(await rules.bundle(revision))


@router.post(
    "/rules",
    openapi_extra=wire_body(RuleLoadReport),
    response_model=ActionsStored,
    responses=errors(401, 403, 404, 413, 422),
)
async def loaded(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Keep which custom rules revision the calling agent loaded, or why it refused it."""
    try:
        rules = rule_service(services)
        body = await read_body(request, MAX_REPORT_BYTES)
        report = msgspec.json.decode(body, type=RuleLoadReport)
    except HTTPException:
        return error(404, "this platform keeps no custom rules")
    except BodyTooLarge as e:
        return error(413, str(e))
    except msgspec.DecodeError as e:  # ValidationError included
        return error(422, f"rules load report: {e}")
    await rules.record_load(agent.agent_id, report)
    return json_response({"stored": 1})
