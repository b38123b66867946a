"""The console's outer layer: security headers, and the audit entry of each state-changing call.

Plain ASGI rather than an `@app.middleware("http")` function: that wraps every request in an
extra task and response stream, ~0.7 ms of the event loop per request here, which a login
flood multiplies (and the agent port shares the event loop).
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockade.platform.api.deps import SAFE_METHODS, USER_STATE
from stockade.platform.services.audit import AuditService
from stockade.platform.store import StoreError

log = logging.getLogger(__name__)

CONSOLE_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
_OWN_ASSETS_ONLY = {"Content-Security-Policy": CONSOLE_CSP, "X-Content-Type-Options": "nosniff"}


class ConsoleLayer:
    """Adds security headers to console and API answers and audits state-changing API calls
    (before the answer leaves, so a client that reads the log next finds its call there)."""

    def __init__(self, app: ASGIApp, audit: AuditService) -> None:
        self._app, self._audit = app, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; see each answer's first message on its way out."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        audited = method not in SAFE_METHODS and path.startswith("/api/")
        # the console uses only its own files; /docs loads FastAPI's Swagger assets
        headed = not path.startswith(("/docs", "/redoc"))

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                # a flood's refusals (429) are counted by the accounts service, not a row each
                if audited and status != 429:
                    username = scope.get("state", {}).get(USER_STATE, "")
                    client = scope.get("client")
                    source = client[0] if client else ""
                    await self._record(username, method, path, status, source)
                if headed:
                    message["headers"] = list(message.get("headers", []))
                    headers = MutableHeaders(scope=message)
                    for name, value in _OWN_ASSETS_ONLY.items():
                        headers[name] = value
            await send(message)

        await self._app(scope, receive, answer)

    async def _record(
        self, username: str, method: str, path: str, status: int, source: str
    ) -> None:
        """Audit one call; with the store down the answer still leaves (the call itself
        could not change the store either), and the entry missed is logged instead."""
        try:
            await self._audit.record(username, method, path, status, source)
        except StoreError as e:
            log.error("audit entry lost (%s %s %s by %r): %s", method, path, status, username, e)
