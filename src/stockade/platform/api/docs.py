"""/docs, /openapi.json and /metrics for logged-in users only, Swagger UI served locally."""

from __future__ import annotations

from typing import Annotated

import swagger_ui_bundle
from fastapi import APIRouter, Cookie, Depends, FastAPI, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from stockade.platform.api.deps import USER_STATE, Bearer, Services
from stockade.platform.services.accounts import Principal

SESSION_COOKIE = "stockade_session"  # set at login; read only by these GET pages
ASSETS = "/docs-assets"


async def page_user(
    request: Request,
    services: Services,
    credentials: Bearer,
    cookie: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Principal:
    """The user of a bearer token or, for pages a browser opens, of the session cookie."""
    token = (
        credentials.credentials if isinstance(credentials, HTTPAuthorizationCredentials) else cookie
    )
    user = await services.accounts.principal_for(token) if token else None
    if user is None:
        raise HTTPException(
            401, "log in first (console or bearer token)", {"WWW-Authenticate": "Bearer"}
        )
    setattr(request.state, USER_STATE, user.username)
    return user


router = APIRouter(dependencies=[Depends(page_user)], include_in_schema=False)


@router.get("/openapi.json")
async def openapi(request: Request) -> Response:
    """The OpenAPI description of the user API."""
    app: FastAPI = request.app
    return JSONResponse(app.openapi())


@router.get("/docs")
async def docs() -> Response:
    """Swagger UI, with its scripts and styles from this server (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Stockade API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # the default asks a public validator
    )


@router.get("/metrics")
async def metrics(services: Services) -> Response:
    """Prometheus text exposition (agent ids and host names: login or API token needed)."""
    agents = await services.runner.read(services.store.list_agents)
    return Response(services.metrics.render(agents), media_type=CONTENT_TYPE_LATEST)


def mount_docs(app: FastAPI) -> None:
    """Add the guarded pages and the Swagger UI assets to the console app."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
