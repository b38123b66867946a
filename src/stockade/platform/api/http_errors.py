"""Every error of the HTTP APIs has one documented shape: {"detail": "one-line reason"}.

Request validation errors are turned from FastAPI's list of problems into one line, a store
that cannot be reached into 503 (never a 500), a wrong
method on a known path is 405 with `Allow` (the console's static files would otherwise answer
404 for every path under /api/), and an unknown path under /api/ is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.routing import Match, Mount
from starlette.types import Scope

from stockade.platform.store import StoreError

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting ErrorBody for each status (replaces FastAPI's 422)."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


_DESCRIPTIONS = {
    400: "bad request",
    401: "not logged in",
    403: "not allowed for this user's role",
    404: "not found",
    405: "method not allowed on this path",
    409: "conflicts with what is stored",
    413: "body too large",
    415: "wrong content type",
    422: "invalid parameters or body",
    429: "locked out after failed logins, or too many logins at once (Retry-After: 1)",
    503: "cannot be stored now: retry later",
}


_PATTERN_HINTS: dict[str, str] = {}  # pattern -> what a user should send instead


def hinted_pattern(pattern: str, hint: str) -> str:
    """`pattern`, remembered with the hint a refusal shows instead of the pattern itself."""
    _PATTERN_HINTS[pattern] = hint
    return pattern


def names_pattern(names: list[str]) -> str:
    """A pattern taking exactly these names in any case (ASCII only, as the parsers are)."""
    spelled = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in n) for n in names]
    return hinted_pattern(f"^({'|'.join(spelled)})$", f"use one of {', '.join(names)}")


def validation_detail(exc: RequestValidationError) -> str:
    """FastAPI's validation problems as one line: `where: what; where: what`."""
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()))
        hint = _PATTERN_HINTS.get(str((problem.get("ctx") or {}).get("pattern")))
        if hint is not None:
            parts.append(f"{where}: {problem.get('input')!r} is not accepted; {hint}")
        else:
            parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 for a call the store could not answer (down, restarting): the call's writes
    are one transaction each, so nothing of it is done; the client retries later."""
    del request
    return JSONResponse(
        {"detail": f"the store cannot be reached now; nothing was changed, retry later: {exc}"},
        status_code=503,
    )


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    del request
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Methods some route of `app` (this fallback and mounts aside) answers on the path."""
    routes = [r for r in app.router.routes if getattr(r, "name", "") != _UNMATCHED]
    routes = [r for r in routes if not isinstance(r, Mount)]
    return [
        method
        for method in ALL_METHODS
        if any(r.matches({**scope, "method": method})[0] == Match.FULL for r in routes)
    ]


_UNMATCHED = "stockade-unmatched-api-path"


def install(app: FastAPI, prefix: str = "/api") -> None:
    """One error shape on `app`: validation errors in one line, 405 and 404 under `prefix`.

    Call after every router is included and before any catch-all mount.
    """
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(StoreError, _store_unavailable)

    async def unmatched(request: Request) -> JSONResponse:
        path = request.url.path
        allowed = _allowed_methods(app, request.scope)
        if allowed:
            return JSONResponse(
                {"detail": f"{request.method} is not allowed on {path}; use {', '.join(allowed)}"},
                status_code=405,
                headers={"Allow": ", ".join(allowed)},
            )
        return JSONResponse({"detail": f"no API path {path}"}, status_code=404)

    app.add_api_route(
        f"{prefix}/{{rest:path}}",
        unmatched,
        methods=ALL_METHODS,
        include_in_schema=False,
        name=_UNMATCHED,
    )
