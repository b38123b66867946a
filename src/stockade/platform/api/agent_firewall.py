"""The agent port's firewall routes: flows up, allow rules down.

POST /api/v1/agent/flows           JSON FlowReport -> 200 {"stored": n}; 413, 422
GET  /api/v1/agent/firewall/rules  -> 200 list of AllowRule: every group's rules
"""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, Request, Response

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import FlowReport
from stockade.platform.api.agent_schema import ActionsStored, errors, wire_answer, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.services.batch_limits import BatchLimitError, check_value
from stockade.platform.services.firewall import FirewallRefused

MAX_REPORT_BYTES = 8 * 1024 * 1024
router = APIRouter(prefix="/api/v1/agent")


@router.post(
    "/flows",
    openapi_extra=wire_body(FlowReport),
    response_model=ActionsStored,
    responses=errors(401, 403, 413, 422),
)
async def flows(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Store the flows the calling agent saw since its last report."""
    try:
        body = await read_body(request, MAX_REPORT_BYTES)
        report = msgspec.json.decode(body, type=FlowReport)
        check_value(msgspec.to_builtins(report.flows), "flows")  # stored integers: int64
        stored = await services.firewall.report(agent.agent_id, report)
    except BodyTooLarge as e:
        return error(413, str(e))
    except (msgspec.DecodeError, RecursionError) as e:
        return error(422, f"bad flow report: {e}")
    except BatchLimitError as e:
        return error(e.status, f"bad flow report: {e}")
    except FirewallRefused as e:
        return error(422, f"bad flow report: {e}")
    return json_response({"stored": stored})


@router.get("/firewall/rules", responses={**wire_answer(list[AllowRule]), **errors(401, 403)})
async def rules(services: Services, agent: CallingAgent) -> Response:
    """Every allow rule, for the agent to judge and enforce connections by."""
    del agent  # any enrolled agent may read them
    return json_response(await services.firewall.rules_for_agent())
