"""Console login: good credentials give a bearer token; everything else is 401."""

from __future__ import annotations

import re

import httpx
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


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json"])
def test_pages_that_name_hosts_refuse_anonymous_requests(
    running: PlatformRunner, path: str
) -> None:
    with running.console() as c:
        assert c.get(path).status_code == 401
        assert c.get(path, headers={"Cookie": "stockade_session=forged"}).status_code == 401


def test_openapi_and_metrics_are_served_to_a_bearer(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    assert "/api/v1/events" in spec["paths"]
    assert "stockade_" in admin.get("/metrics").text


def test_docs_load_their_assets_from_the_platform(running: PlatformRunner) -> None:
    with running.console() as c:
        login = c.post(
            "/api/v1/auth/login", json={"username": "admin", "password": running.admin_password}
        )
        assert login.status_code == 200
        page = c.get("/docs")  # as a browser opens it: with the session cookie only
        assert page.status_code == 200, page.text
        sources = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page.text)
        assert sources, page.text
        assert not [s for s in sources if "//" in s], sources  # nothing from another host
        assert "https://" not in page.text and "http://" not in page.text
        for source in sources:
            assert c.get(source).status_code == 200, source
        assert "/api/v1/events" in c.get("/openapi.json").json()["paths"]
