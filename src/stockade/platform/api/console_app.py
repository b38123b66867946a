"""The console port's app: user API under /api/v1, /metrics, /docs, and the web console at /."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

import stockade
from stockade.platform.api import http_errors
from stockade.platform.api.actions import router as actions_router
from stockade.platform.api.alerts import router as alerts_router
from stockade.platform.api.baseline import router as baseline_router
from stockade.platform.api.bodies import json_response
from stockade.platform.api.console_layer import ConsoleLayer
from stockade.platform.api.deps import (
    USER_STATE,
    Admin,
    Bearer,
    SelfService,
    Services,
    current_user,
)
from stockade.platform.api.docs import SESSION_COOKIE, mount_docs
from stockade.platform.api.firewall import router as firewall_router
from stockade.platform.api.fleet_models import AgentView, ContainerView
from stockade.platform.api.hosts import router as hosts_router
from stockade.platform.api.http_errors import error_responses
from stockade.platform.api.hunt import router as hunt_router
from stockade.platform.api.hunts import router as hunts_router
from stockade.platform.api.images import router as images_router
from stockade.platform.api.incidents import router as incidents_router
from stockade.platform.api.live_queries import router as live_queries_router
from stockade.platform.api.login_shield import LoginShield
from stockade.platform.api.params import Limit, TimeParam, time_ns
from stockade.platform.api.profiles import router as profiles_router
from stockade.platform.api.response_policies import router as policies_router
from stockade.platform.api.rules import router as rules_router
from stockade.platform.api.users import refused
from stockade.platform.api.users import router as users_router
from stockade.platform.api.views import agent_view, container_view, event_view
from stockade.platform.services import PlatformServices
from stockade.platform.services.accounts import SESSION_TTL_NS, AccountError
from stockade.platform.store import EventQuery, QueryTimeout
from stockade.platform.ui import STATIC_DIR


class LoginRequest(BaseModel):
    """Credentials for POST /auth/login."""

    username: str
    password: str


class LoginResponse(BaseModel):
    """A bearer token for the Authorization header."""

    token: str
    token_type: str = "bearer"


public = APIRouter(prefix="/api/v1")
private = APIRouter(prefix="/api/v1", dependencies=[Depends(current_user)])


@public.get("/health")
async def health() -> dict[str, str]:
    """Liveness of the platform (no login needed)."""
    return {"status": "ok", "version": stockade.__version__}


@public.post(
    "/auth/login",
    response_model=LoginResponse,
    responses=error_responses(401, 429),
)
async def login(body: LoginRequest, request: Request, services: Services) -> Response:
    """Exchange username and password for a bearer token (also set as a cookie for /docs)."""
    setattr(request.state, USER_STATE, body.username)
    try:
        token = await services.accounts.login(body.username, body.password, _source(request))
    except AccountError as e:
        return refused(e)
    response = json_response(LoginResponse(token=token).model_dump())
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_NS // 1_000_000_000,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


@public.post("/auth/logout", status_code=204, responses=error_responses(401))
async def logout(services: Services, credentials: Bearer, _: SelfService) -> Response:
    """End this bearer token's session."""
    if credentials is not None:
        await services.accounts.logout(credentials.credentials)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _source(request: Request) -> str:
    return request.client.host if request.client else ""


@private.get("/agents", response_model=list[AgentView])
async def agents(services: Services) -> Response:
    """Enrolled agents with their last heartbeat."""
    found = await services.runner.read(services.store.list_agents)
    now = time.time_ns()
    return json_response([agent_view(a, now) for a in found])


@private.delete("/agents/{agent_id}", response_model=AgentView, responses=error_responses(404))
async def revoke_agent(agent_id: str, services: Services, admin: Admin) -> Response:
    """Revoke an agent (admin only): its certificate is refused on every listener within
    seconds."""
    del admin  # the dependency admits admins only
    if not await services.agents.revoke(agent_id):
        raise HTTPException(404, f"no agent {agent_id!r} is enrolled")
    found = await services.runner.read(services.store.get_agent, agent_id)
    assert found is not None  # agents are revoked, never removed
    return json_response(agent_view(found, time.time_ns()))


@private.get("/containers", response_model=list[ContainerView])
async def containers(services: Services) -> Response:
    """Containers seen in stored events, most recently seen first."""
    found = await services.runner.read(services.store.list_containers)
    return json_response([container_view(c) for c in found])


@private.get("/events")
async def events(
    services: Services,
    since: TimeParam = None,
    until: TimeParam = None,
    host: str | None = None,
    container: str | None = None,
    type: str | None = None,
    proc_name: str | None = None,
    limit: Limit = 100,
) -> Response:
    """Stored events matching every given filter, newest first."""
    query = EventQuery(
        since=time_ns("since", since),
        until=time_ns("until", until),
        host=host,
        container=container,
        type=type,
        proc_name=proc_name,
        limit=limit,
        budget_s=services.query_budget_s,
    )
    try:
        found = await services.runner.read(services.store.query_events, query)
    except QueryTimeout as e:
        raise HTTPException(422, str(e)) from e
    return json_response([event_view(e) for e in found])


def create_console_app(services: PlatformServices) -> FastAPI:
    """The console app: API, metrics, OpenAPI at /docs, and the static web console."""
    app = FastAPI(
        title="Stockade",
        version=stockade.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services

    app.add_middleware(LoginShield, accounts=services.accounts)
    app.add_middleware(ConsoleLayer, audit=services.audit)  # outermost: it sees every answer
    app.include_router(public, responses=error_responses(400, 422))
    app.include_router(private, responses=error_responses(400, 401, 403, 422))
    app.include_router(alerts_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(images_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(hosts_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(baseline_router, responses=error_responses(401, 403, 422))
    app.include_router(hunt_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(hunts_router, responses=error_responses(400, 401, 403, 404, 409, 422))
    app.include_router(live_queries_router, responses=error_responses(400, 401, 403, 404, 422))
    app.include_router(users_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(incidents_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(actions_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(policies_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(profiles_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(firewall_router, responses=error_responses(400, 401, 403, 422))
    app.include_router(rules_router, responses=error_responses(400, 401, 403, 422))
    mount_docs(app)
    http_errors.install(app)

    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="console")
    return app
