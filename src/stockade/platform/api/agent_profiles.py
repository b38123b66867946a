"""The agent port's profile routes: profiles and modes pushed, learned behaviour reported.

GET  /api/v1/agent/profiles?revision=N -> 200 ProfilePush: every group's profile and modes
                                          (no groups when the revision is still N)
POST /api/v1/agent/profiles            JSON LearnedReport -> 200 {"stored": new versions}
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Request, Response

from stockade.platform.api.agent_schema import ActionsStored, errors, wire_answer, wire_body
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.profiles.wire import LearnedReport, ProfilePush

MAX_REPORT_BYTES = 8 * 1024 * 1024
router = APIRouter(prefix="/api/v1/agent")


@router.get("/profiles", responses={**wire_answer(ProfilePush), **errors(401, 403, 404, 422)})
async def profiles(
    services: Services, agent: CallingAgent, revision: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """Every group's profile and modes, unless they are still at `revision` (then none)."""
    del agent  # any enrolled agent may read them
    if services.profiles is None:
        return error(404, "this platform keeps no profiles")
    return json_response(await services.profiles.push(revision))


@router.post(
    "/profiles",
    openapi_extra=wire_body(LearnedReport),
    response_model=ActionsStored,
    responses=errors(401, 403, 404, 413, 422),
)
async def learned(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Merge what the calling agent learned into the groups' profiles (new versions)."""
    if services.profiles is None:
        return error(404, "this platform keeps no profiles")
    try:
        body = await read_body(request, MAX_REPORT_BYTES)
        report = msgspec.json.decode(body, type=LearnedReport)
    except BodyTooLarge as e:
        return error(413, str(e))
    except msgspec.DecodeError as e:  # ValidationError included
        return error(422, f"learned profiles: {e}")
    return json_response({"stored": await services.profiles.learned(agent.agent_id, report)})
