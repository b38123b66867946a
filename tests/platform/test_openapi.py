"""Schemathesis over the console's OpenAPI on a real platform: no 5xx, nothing off-schema.

Every operation gets generated valid and invalid requests with an admin token and with a
viewer's (a few each, a few hundred in all); every answer must be documented for its
operation, match its documented schema, content type and headers, and never be a server
error. Whether a request is accepted is not judged (schemathesis' positive and negative
data checks): passwords, scan reports and calendar dates are checked for meaning no schema
says, and unknown query parameters are ignored, as HTTP APIs do.
Wrong methods on API paths are 405 with `Allow`, unknown API paths 404, both with the
documented error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

EXAMPLES_PER_OPERATION = 6  # x 2 modes x 2 roles x ~19 operations: ~400 requests
LOGOUT = "/api/v1/auth/logout"


def _check_operation(operation: Any, mode: GenerationMode, user: httpx.Client, ca: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any]) -> None:
        auth = user.headers["Authorization"]
        if case.path == LOGOUT:  # logging out ends the session: log in again afterwards
            auth = "Bearer " + user.post("/api/v1/auth/tokens", json={"name": "x"}).json()["token"]
        case.call_and_validate(
            base_url=str(user.base_url).rstrip("/"),
            headers={"Authorization": auth},
            excluded_checks=[positive_data_acceptance, negative_data_rejection],
            verify=ca,
        )

    run()


@pytest.fixture(scope="module")
def viewer(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A console client logged in as a viewer (may only read)."""
    client = running.add_user("schema-viewer", "viewer")
    yield client
    client.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_api_answers_within_its_schema(
    running: PlatformRunner,
    admin: httpx.Client,
    viewer: httpx.Client,
    role: str,
    mode: GenerationMode,
) -> None:
    user = admin if role == "admin" else viewer
    schema = schemathesis.openapi.from_dict(user.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    checked = 0
    for operation in operations:
        try:
            _check_operation(operation, mode, user, str(running.platform.ca_path))
        except Unsatisfiable:  # no parameter or body to get wrong (e.g. GET /health)
            assert mode == GenerationMode.NEGATIVE, operation.label
            continue
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v1/events", "GET"),
        ("DELETE", "/api/v1/agents", "GET"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("PUT", "/api/v1/images/sha256:abc", "GET"),
    ],
    ids=["post-events", "delete-agents", "get-login", "put-image"],
)
def test_wrong_method_is_405_with_allow(
    admin: httpx.Client, method: str, path: str, allow: str
) -> None:
    r = admin.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {"detail": f"{method} is not allowed on {path}; use {allow}"}
    assert admin.get("/api/v1/health").status_code == 200


def test_unknown_api_path_is_404_and_bad_parameters_are_one_line(admin: httpx.Client) -> None:
    r = admin.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"detail": "no API path /api/v1/nothing-here"}
    r = admin.get("/api/v1/events", params={"limit": 0})
    assert r.status_code == 422
    assert r.json() == {"detail": "query.limit: Input should be greater than or equal to 1"}
