"""Console login: good credentials give a bearer token; everything else is 401."""

from __future__ import annotations

import pytest

from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server


def test_health_needs_no_login(running: PlatformRunner) -> None:
    with running.console() as c:
        r = c.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_login_gives_a_working_bearer_token(running: PlatformRunner) -> None:
    with running.console() as c:
        r = c.post(
            "/api/v1/auth/login", json={"username": "admin", "password": running.admin_password}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "bearer"
        r = c.get("/api/v1/agents", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200
    assert isinstance(r.json(), list)


@pytest.mark.parametrize(
    "path", ["/api/v1/agents", "/api/v1/containers", "/api/v1/events", "/api/v1/alerts"]
)
def test_api_without_login_is_401(running: PlatformRunner, path: str) -> None:
    with running.console() as c:
        assert c.get(path).status_code == 401
        assert c.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong"), ("nobody", "wrong"), ("admin", "")],
    ids=["wrong-password", "unknown-user", "empty-password"],
)
def test_bad_credentials_are_401(running: PlatformRunner, username: str, password: str) -> None:
    with running.console() as c:
        r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 401
    assert "token" not in r.json()


def test_logout_ends_the_session(running: PlatformRunner) -> None:
    client = running.login()
    assert client.get("/api/v1/agents").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/agents").status_code == 401
    client.close()


def test_openapi_and_docs_are_served(running: PlatformRunner) -> None:
    with running.console() as c:
        spec = c.get("/openapi.json").json()
        assert "/api/v1/events" in spec["paths"]
        assert c.get("/docs").status_code == 200
