"""API tokens expire: past its expiry a token is refused (401) on every route, not listed
among the user's tokens, while a fresh token of the same user works."""

from __future__ import annotations

import time

import httpx
import pytest

from stockade.platform.services.credentials import new_token, token_hash
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

HOUR_NS = 3600 * 1_000_000_000


def _with_token(running: PlatformRunner, token: str) -> httpx.Client:
    client = running.console()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_an_expired_api_token_is_refused_and_a_fresh_one_works(
    running: PlatformRunner, admin: httpx.Client
) -> None:
    expired, fresh = new_token(), new_token()
    with running.beside() as store:  # stored as made a day ago, rather than waiting a day
        user = store.get_user("admin")
        assert user is not None
        now = time.time_ns()
        store.add_session(token_hash(expired), user.id, now - 1, "expired-token")
        store.add_session(token_hash(fresh), user.id, now + HOUR_NS, "fresh-token")
    with _with_token(running, expired) as old, _with_token(running, fresh) as new:
        for path in ("/api/v1/agents", "/api/v1/alerts", "/metrics"):
            refused = old.get(path)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["detail"].startswith("log in first")
            assert new.get(path).status_code == 200, path
        assert old.post("/api/v1/auth/tokens", json={"name": "x", "days": 1}).status_code == 401
    names = [t["name"] for t in admin.get("/api/v1/auth/tokens").json()]
    assert "fresh-token" in names and "expired-token" not in names
