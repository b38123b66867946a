"""Turns a login away before routing when its address is locked out or checks are rationed.

A flood's refused logins then cost the event loop no routing, dependency solving or body
validation: about half of what a refused login costs it here (TLS and HTTP parsing stay).
The login route still checks everything that needs the body (the account's lockouts).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from stockade.platform.services.accounts import AccountService

LOGIN_PATH = "/api/v1/auth/login"


class LoginShield:
    """Answers 429 (with Retry-After) to a login the accounts service refuses unseen."""

    def __init__(self, app: ASGIApp, accounts: AccountService) -> None:
        self._app, self._accounts = app, accounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a login early when the accounts service says so; pass anything else on."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != LOGIN_PATH:
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        refusal = await self._accounts.refuse_unseen(client[0] if client else "")
        if refusal is None:
            await self._app(scope, receive, send)
            return
        body = json.dumps({"detail": refusal.reason}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(refusal.retry_after_s or 1).encode()),
        ]
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
