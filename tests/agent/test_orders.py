"""Users' orders through the real platform to the agent's order channel and back, on a
real podman container: the result in the answer, the trail, roles, reconnects, at most once
(benchmarks/bench_response.py measures how soon the result shows)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.agent.action_journal import ActionJournal
from stockade.agent.errors import TransportError
from stockade.agent.responder import Responder
from stockade.model import Alert, Event, Host, Process
from stockade.model.actions import (
    ActionOrder,
    ActionRecord,
    ActionReport,
    ActionStatus,
    ActionTarget,
    Trigger,
)
from stockade.respond.base import ActionContext
from tests.support.order_agent import OrderAgent, order_agent
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.server, pytest.mark.root, pytest.mark.podman]
RESULT_WAIT_S = 10.0  # the API's longest wait; bench_response measures the time it takes


@pytest.fixture
def agent(platform: PlatformRunner, tmp_path: Path) -> Iterator[OrderAgent]:
    """An agent's order channel, running."""
    host = Host(id="host-orders", hostname="orders-node")
    with order_agent(platform, tmp_path / "agent", host) as running:
        yield running


def _order(admin: httpx.Client, agent_id: str, action: str, **target: object) -> httpx.Response:
    body = {"action": action, "agent_id": agent_id, "target": target, "wait_s": RESULT_WAIT_S}
    return admin.post("/api/v1/actions", json=body)


def test_an_order_is_done_and_its_result_shown(
    platform: PlatformRunner, agent: OrderAgent, podman: Podman, busybox_image: str
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    with contextlib.closing(platform.login()) as admin:
        answer = _order(admin, agent.agent_id, "kill_container", container_id=container)
        assert answer.status_code == 200, answer.text  # 200: ended within wait_s
        record = answer.json()
        assert record["status"] == "done", record
        assert record["trigger"] == {
            "kind": "user",
            "user": "admin",
            "policy": "",
            "alert_id": "",
            "rule": "",
        }
        trail = admin.get("/api/v1/actions", params={"agent_id": agent.agent_id}).json()["items"]
        assert [r["id"] for r in trail] == [record["id"]]
        assert trail[0]["completed_at"] and trail[0]["host_id"] == "host-orders"
    state = podman.cmd("inspect", "--format", "{{.State.ExitCode}}", container).stdout
    assert state.strip() == b"137"


def test_viewers_read_the_trail_but_may_not_act(
    platform: PlatformRunner, agent: OrderAgent
) -> None:
    viewer = platform.add_user("watcher", "viewer")
    with contextlib.closing(viewer):
        refused = _order(viewer, agent.agent_id, "kill_process", pid=1)
        assert refused.status_code == 403
        assert viewer.get("/api/v1/actions").status_code == 200
        catalog = {a["name"]: a["needs"] for a in viewer.get("/api/v1/actions/catalog").json()}
        assert catalog["kill_container"] == ["container_id"]


@pytest.mark.parametrize(
    ("action", "agent_id", "target", "status", "detail"),
    [
        ("explode", None, {"pid": 5}, 422, "unknown response action 'explode'"),
        ("kill_container", None, {}, 422, "kill_container needs a target container_id"),
        ("kill_process", "nobody", {"pid": 5}, 404, "no enrolled agent 'nobody'"),
    ],
    ids=["unknown-action", "no-target", "unknown-agent"],
)
def test_bad_orders_are_refused_in_one_line(
    platform: PlatformRunner,
    agent: OrderAgent,
    action: str,
    agent_id: str | None,
    target: dict[str, object],
    status: int,
    detail: str,
) -> None:
    with contextlib.closing(platform.login()) as admin:
        answer = _order(admin, agent_id or agent.agent_id, action, **target)
    assert answer.status_code == status and answer.json()["detail"].startswith(detail)


def test_a_failed_action_reports_its_error(platform: PlatformRunner, agent: OrderAgent) -> None:
    with contextlib.closing(platform.login()) as admin:
        record = _order(admin, agent.agent_id, "kill_container", container_id="ab" * 32).json()
    assert record["status"] == "failed"
    assert record["error"] == f"no running container {'ab' * 32} on this host"


def test_orders_survive_a_platform_restart(
    platform: PlatformRunner, agent: OrderAgent, podman: Podman, busybox_image: str
) -> None:
    platform.stop()
    platform.start()
    container = podman.run_detached(busybox_image, "sleep", "600")
    with contextlib.closing(platform.login()) as admin:
        # the agent reconnects within its retry delay; the order waits for it meanwhile
        record = _order(admin, agent.agent_id, "freeze_container", container_id=container).json()
        done = poll_value(
            lambda: admin.get(f"/api/v1/actions/{record['id']}").json(),
            lambda r: r["status"] != "pending",
            30,
            "the order to end after the reconnect",
        )
        assert done["status"] == "done", done
        _order(admin, agent.agent_id, "thaw_container", container_id=container)


def test_an_order_runs_at_most_once_even_after_a_restart(tmp_path: Path) -> None:
    journal_dir, context = tmp_path / "actions", ActionContext(tmp_path / "respond")
    order = ActionOrder(
        id="order-1",
        action="kill_process",
        target=ActionTarget(pid=2**22 + 3),
        trigger=Trigger(kind="user", user="admin"),
        requested_at=1,
    )
    first = Responder(ActionJournal(journal_dir), context)
    assert first.order(order) and not first.order(order)
    first.close()
    first.journal.close()
    again = Responder(ActionJournal(journal_dir), context)
    assert not again.order(order)  # delivered again after a reconnect: not run again
    record = again.journal.get("order-1")
    assert record is not None and record.status == "failed" and "no process" in record.error
    again.close()


PUSHED = """
policies:
  - name: pushed-watch
    match: {rules: ["Miner*"]}
    scope: {containers_only: false}
    actions: [kill_process]
    dry_run: true
"""


def test_pushed_policies_reach_the_agent_and_their_dry_runs_the_trail(
    platform: PlatformRunner, agent: OrderAgent
) -> None:
    with contextlib.closing(platform.login()) as admin:
        assert admin.get("/api/v1/policies").json()["version"] == 0
        answer = admin.put("/api/v1/policies", json={"yaml": PUSHED})
        assert answer.status_code == 200, answer.text
        assert answer.json()["policies"] == [
            {"name": "pushed-watch", "actions": ["kill_process"], "dry_run": True, "enabled": True}
        ]
        poll_until(lambda: agent.responder.policies, 10, "the agent to take the pushed policies")
        assert agent.channel.policy_version == 1
        alert = Alert(
            uuid="a-9", output="x", priority="Critical", rule="Miner", time="t", output_fields={}
        )
        agent.responder.offer(alert, Event(type="execve", ts=1, proc=Process(pid=4, name="x")))
        trail = poll_value(
            lambda: admin.get("/api/v1/actions", params={"status": "dry-run"}).json()["items"],
            bool,
            10,
            "the dry run in the platform's trail",
        )
    assert trail[0]["trigger"]["policy"] == "pushed-watch"
    assert trail[0]["trigger"]["alert_id"] == "a-9"


def test_bad_pushed_policies_are_refused_in_one_line(
    platform: PlatformRunner, agent: OrderAgent
) -> None:
    del agent
    with contextlib.closing(platform.login()) as admin:
        answer = admin.put("/api/v1/policies", json={"yaml": "policies: [{name: a}]"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "policy file platform policies: Object missing required field `actions`"
        " - at `$.policies[0]`"
    )
    viewer = platform.add_user("policy-viewer", "viewer")
    with contextlib.closing(viewer):
        assert viewer.put("/api/v1/policies", json={"yaml": PUSHED}).status_code == 403
        assert viewer.get("/api/v1/policies").status_code == 200


def test_an_agent_cannot_report_a_user_order_never_given(agent: OrderAgent) -> None:
    forged = ActionRecord(
        id="forged-1",
        action="kill_process",
        target=ActionTarget(pid=5),
        trigger=Trigger(kind="user", user="admin"),
        status=ActionStatus.DONE,
    )
    with agent.channel.new_client() as client, pytest.raises(TransportError, match="422"):
        agent.channel.send_report(client, ActionReport(records=[forged]))
