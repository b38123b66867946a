"""Roles, user management, API tokens, password rules and the audit log, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.corpus_scan import app_image_json
from tests.support.platform_runner import USER_PASSWORD, PlatformRunner

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def viewer(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A logged-in viewer."""
    client = running.add_user("vera", "viewer")
    yield client
    client.close()


@pytest.fixture(scope="module")
def analyst(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A logged-in analyst."""
    client = running.add_user("anna", "analyst")
    yield client
    client.close()


def _audit(admin: httpx.Client) -> list[dict[str, Any]]:
    r = admin.get("/api/v1/audit", params={"limit": 1000})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


@pytest.mark.parametrize(
    "path", ["/api/v1/agents", "/api/v1/events", "/api/v1/alerts", "/api/v1/images"]
)
def test_viewer_reads(viewer: httpx.Client, path: str) -> None:
    assert viewer.get(path).status_code == 200


def test_viewer_post_is_refused_and_audited(
    viewer: httpx.Client, admin: httpx.Client, corpus: Path
) -> None:
    r = viewer.post("/api/v1/scans", content=app_image_json(corpus))
    assert r.status_code == 403, r.text
    assert admin.get("/api/v1/images").json() == []  # nothing was stored
    entry = next(a for a in _audit(admin) if a["username"] == "vera")
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/api/v1/scans", 403)
    assert entry["source"] == "127.0.0.1"
    assert entry["time"].endswith("Z")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/admin"),
        ("DELETE", "/api/v1/users/admin"),
        ("GET", "/api/v1/audit"),
    ],
)
@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_admins_manage_users_and_read_the_audit_log(
    request: pytest.FixtureRequest, role: str, method: str, path: str
) -> None:
    client: httpx.Client = request.getfixturevalue(role)
    body = {"username": "mallory", "password": "long-enough-pw-1", "role": "admin"}
    r = client.request(method, path, json=body if method in ("POST", "PATCH") else None)
    assert r.status_code == 403, r.text


def test_analyst_uploads_scans(analyst: httpx.Client, corpus: Path) -> None:
    r = analyst.post("/api/v1/scans", content=app_image_json(corpus))
    assert r.status_code == 201, r.text
    assert analyst.get("/api/v1/images").json()


def test_admin_manages_users(running: PlatformRunner, admin: httpx.Client) -> None:
    new = {"username": "otto", "password": "initial-pw-of-o-9", "role": "viewer"}
    assert admin.post("/api/v1/users", json=new).status_code == 201
    assert admin.post("/api/v1/users", json=new).status_code == 409
    users = {u["username"]: u["role"] for u in admin.get("/api/v1/users").json()}
    assert users["otto"] == "viewer" and users["admin"] == "admin"
    assert "password_hash" not in str(admin.get("/api/v1/users").json())
    assert admin.patch("/api/v1/users/otto", json={"role": "analyst"}).status_code == 204
    otto = running.login("otto", "initial-pw-of-o-9")
    assert otto.get("/api/v1/auth/me").json() == {"username": "otto", "role": "analyst"}
    assert admin.delete("/api/v1/users/otto").status_code == 204
    assert otto.get("/api/v1/agents").status_code == 401  # its session went with it
    assert admin.delete("/api/v1/users/admin").status_code == 409  # not yourself
    assert admin.patch("/api/v1/users/nobody", json={"role": "viewer"}).status_code == 404
    assert admin.post("/api/v1/users", json={**new, "role": "root"}).status_code == 422
    otto.close()


@pytest.mark.parametrize(
    "password", ["x", "short-pw", "aaaaaaaaaaaaaaaa", "my-name-is-weakling"], ids=str
)
def test_weak_passwords_are_refused(admin: httpx.Client, password: str) -> None:
    body = {"username": "weakling", "password": password, "role": "viewer"}
    r = admin.post("/api/v1/users", json=body)
    assert r.status_code == 422, r.text
    assert "password" in r.json()["detail"]


def test_password_change(running: PlatformRunner) -> None:
    first = running.add_user("pat", "viewer")  # a viewer may change its own password
    other = running.login("pat", USER_PASSWORD)
    change = {"current_password": "wrong-current-pw", "new_password": "brand-new-secret-7"}
    assert first.post("/api/v1/auth/password", json=change).status_code == 403
    weak = {"current_password": USER_PASSWORD, "new_password": "1"}
    assert first.post("/api/v1/auth/password", json=weak).status_code == 422
    good = {"current_password": USER_PASSWORD, "new_password": "brand-new-secret-7"}
    assert first.post("/api/v1/auth/password", json=good).status_code == 204
    assert first.get("/api/v1/agents").status_code == 200  # this session stays
    assert other.get("/api/v1/agents").status_code == 401  # the other one ended
    with running.console() as c:
        old = {"username": "pat", "password": USER_PASSWORD}
        assert c.post("/api/v1/auth/login", json=old).status_code == 401
    running.login("pat", "brand-new-secret-7").close()
    first.close()
    other.close()


def test_api_tokens_carry_the_role_and_can_be_revoked(
    running: PlatformRunner, viewer: httpx.Client
) -> None:
    assert viewer.post("/api/v1/auth/tokens", json={"name": "x", "days": 0}).status_code == 422
    assert viewer.post("/api/v1/auth/tokens", json={"name": "x", "days": 366}).status_code == 422
    r = viewer.post("/api/v1/auth/tokens", json={"name": "grafana", "days": 7})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    listed = viewer.get("/api/v1/auth/tokens").json()
    assert [t["name"] for t in listed] == ["grafana"]
    assert token not in str(listed)
    expires = time.strptime(listed[0]["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")
    assert 6 * 86400 < time.mktime(expires) - time.mktime(time.gmtime()) <= 7 * 86400
    with running.console() as c:
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.get("/api/v1/alerts").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert c.post("/api/v1/scans", content=b"{}").status_code == 403  # still a viewer
        assert viewer.delete(f"/api/v1/auth/tokens/{listed[0]['id']}").status_code == 204
        assert c.get("/api/v1/alerts").status_code == 401
    assert viewer.delete(f"/api/v1/auth/tokens/{listed[0]['id']}").status_code == 404
