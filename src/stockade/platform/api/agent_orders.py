"""The agent port's response routes: the orders long poll and the action reports.

GET  /api/v1/agent/orders?wait_s=N  -> 200 OrdersAnswer: the calling agent's pending
                                      orders and the policies' version, held up to N s
                                      (at most 30) until an order or new policies exist
GET  /api/v1/agent/policies         -> 200 PolicyPush: the pushed response policies
POST /api/v1/agent/actions          JSON ActionReport -> 200 {"stored": n}; 403 for a
                                      record ordered from another agent; 422 bad body
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Request, Response

from stockade.model.actions import ActionReport, OrdersAnswer, PolicyPush
from stockade.platform.api.agent_schema import ActionsStored, errors, wire_answer, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.services.actions import MAX_WAIT_S, ActionRefused
from stockade.platform.services.batch_limits import BatchLimitError, check_value

MAX_REPORT_BYTES = 4 * 1024 * 1024
router = APIRouter(prefix="/api/v1/agent")


@router.get("/orders", responses={**wire_answer(OrdersAnswer), **errors(401, 403, 422)})
async def orders(
    services: Services,
    agent: CallingAgent,
    wait_s: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0,
) -> Response:
    """The calling agent's pending orders, waiting up to `wait_s` for one."""
    return json_response(await services.actions.orders(agent.agent_id, wait_s))


@router.get("/policies", responses={**wire_answer(PolicyPush), **errors(401, 403)})
async def policies(services: Services, agent: CallingAgent) -> Response:
    """The response policies pushed to every agent, with their version."""
    del agent  # any enrolled agent may read them
    document, _ = await services.policies.current()
    return json_response(PolicyPush(yaml=document.yaml, version=document.version))


@router.post(
    "/actions",
    openapi_extra=wire_body(ActionReport),
    response_model=ActionsStored,
    responses=errors(401, 403, 413, 422),
)
async def report(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Store the outcomes of actions the calling agent took (orders and policies)."""
    try:
        body = await read_body(request, MAX_REPORT_BYTES)
        report = msgspec.json.decode(body, type=ActionReport)
        check_value(msgspec.to_builtins(report.records), "records")  # stored integers: int64
        stored = await services.actions.report(agent.agent_id, agent.host_id, report.records)
    except BodyTooLarge as e:
        return error(413, str(e))
    except (msgspec.DecodeError, RecursionError) as e:
        return error(422, f"bad action report: {e}")
    except BatchLimitError as e:
        return error(e.status, f"bad action report: {e}")
    except ActionRefused as e:
        return error(e.status, e.reason)
    return json_response({"stored": stored})
