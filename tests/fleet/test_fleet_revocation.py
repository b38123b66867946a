"""Revocation in a fleet: two `stockade server` API nodes on one PostgreSQL store and one
NATS bus. An agent revoked on node A is refused on node B within 5 s (the issue's bound).
While the store is down, node B keeps refusing the agent it knows is revoked, and a revoke
request answers 503 with a one-line reason and changes nothing: once the store is back the
other agent is still active, and revoking it then works."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.platform.services.agents import RECHECK_AFTER_S
from tests.support.agent_client import TestAgent
from tests.support.fleet import Fleet
from tests.support.nats import NatsServer
from tests.support.polling import holds_throughout, poll_until, poll_value
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.server]

REVOKED_WITHIN_S = 5  # the requirement for every listener
BACK_WITHIN_S = 60  # PostgreSQL restarting, and the node reconnecting


def _ack(agent: TestAgent) -> int:
    return agent.client.get("/api/v1/agent/ack").status_code


def _on_node_b(fleet: Fleet, directory: Path, host_id: str) -> TestAgent:
    ca = fleet.ca_pem.decode()
    return TestAgent.enroll(fleet.agent_urls[1], ca, fleet.token(), directory, host_id=host_id)


def _revoke_while_the_store_is_down(
    postgres: PostgresServer, url: str, admin: httpx.Client, gone: TestAgent, kept: TestAgent
) -> None:
    with postgres.database_down(url):
        # past node B's re-read of the record (which now fails), the known revocation stands
        holds_throughout(
            lambda: _ack(gone), lambda s: s == 403, RECHECK_AFTER_S + 1, "refusing `gone` on B"
        )
        answer = admin.delete(f"/api/v1/agents/{kept.agent_id}")
        assert answer.status_code == 503, answer.text
        detail = answer.json()["detail"]
        assert "store cannot be reached" in detail and "\n" not in detail
    poll_until(lambda: _ack(kept) == 200, BACK_WITHIN_S, "node B to serve `kept` again")
    assert _ack(gone) == 403
    listed = poll_value(  # a connection that was ended answers 503 once, then reconnects
        lambda: admin.get("/api/v1/agents"),
        lambda r: r.status_code == 200,
        BACK_WITHIN_S,
        "node A to list the agents again",
    )
    rows = {a["id"]: a["status"] for a in listed.json()}
    assert rows[kept.agent_id] != "revoked"  # the refused request left nothing half-done


@pytest.fixture
def fleet(tmp_path: Path, nats_server: NatsServer, postgres_url: str) -> Iterator[Fleet]:
    """Two API nodes on one PostgreSQL database and NATS; no workers (nothing to store)."""
    running = Fleet(tmp_path, nats_server, 2, 0, "postgresql", postgres_url).start()
    try:
        yield running
    finally:
        running.stop()


def test_a_revocation_reaches_every_node_and_survives_the_store_going_down(
    fleet: Fleet, postgres: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    gone = _on_node_b(fleet, tmp_path / "gone", "host-gone")
    kept = _on_node_b(fleet, tmp_path / "kept", "host-kept")
    with (
        contextlib.closing(gone.client),
        contextlib.closing(kept.client),
        contextlib.closing(fleet.login(0)) as admin,
    ):
        assert _ack(gone) == 200 and _ack(kept) == 200  # node B knows both
        assert admin.delete(f"/api/v1/agents/{gone.agent_id}").status_code == 200
        poll_until(
            lambda: _ack(gone) == 403, REVOKED_WITHIN_S, "node B to refuse the revoked agent"
        )
        assert _ack(kept) == 200
        _revoke_while_the_store_is_down(postgres, postgres_url, admin, gone, kept)
        poll_until(
            lambda: admin.delete(f"/api/v1/agents/{kept.agent_id}").status_code == 200,
            BACK_WITHIN_S,
            "node A to revoke once the store is back",
        )
        poll_until(lambda: _ack(kept) == 403, REVOKED_WITHIN_S, "node B to refuse `kept`")
