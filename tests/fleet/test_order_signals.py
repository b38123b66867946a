"""Orders across API nodes: two `stockade server` processes on one store and one NATS bus.

An agent long-polls node B with a long poll (30 s, the most the platform holds one); a
user orders on node A. The bus's signal wakes B's held poll, so the order arrives in the
answer to the poll that was already open when it was given (not the next one), and its
result is on A while that poll would still have been held; `wait_s` on A is answered by
the report the agent made to B.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockade.agent.enroll import enroll, pin_ca
from stockade.agent.orders import OrderChannel
from stockade.model import Host
from stockade.model.actions import OrdersAnswer
from stockade.platform.services.actions import MAX_WAIT_S
from tests.support.fleet import Fleet
from tests.support.nats import NatsServer
from tests.support.order_agent import OrderAgent, running_channel
from tests.support.polling import poll_until, poll_value
from tests.support.processes import ADMIN_PASSWORD

pytestmark = [pytest.mark.server]
HOST = Host(id="host-signals", hostname="signals-node")


class CountedChannel(OrderChannel):
    """The agent's order channel, noting which answer (1, 2, ...) carried each order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.polls_sent = 0
        self.answered_in: dict[str, int] = {}  # order id -> the answer that carried it
        self._lock = threading.Lock()

    def fetch_orders(self, client: httpx.Client) -> OrdersAnswer:
        """One long poll, counted."""
        with self._lock:
            self.polls_sent += 1
            number = self.polls_sent
        answer = super().fetch_orders(client)
        for order in answer.orders:
            self.answered_in.setdefault(order.id, number)
        return answer


@pytest.fixture
def fleet(tmp_path: Path, nats_server: NatsServer) -> Iterator[Fleet]:
    """Two API nodes on one SQLite store and NATS; no workers (orders need none)."""
    running = Fleet(tmp_path, nats_server, api_nodes=2, workers=0).start()
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def _admin(fleet: Fleet, node: int) -> Iterator[httpx.Client]:
    verify = ssl.create_default_context(cafile=str(fleet.ca_path))
    with httpx.Client(base_url=fleet.console_urls[node], verify=verify, timeout=30) as client:
        body = {"username": "admin", "password": ADMIN_PASSWORD}
        answer = client.post("/api/v1/auth/login", json=body)
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield client


@contextlib.contextmanager
def _agent_on_node_b(fleet: Fleet, state_dir: Path) -> Iterator[OrderAgent]:
    pin_ca(state_dir, fleet.ca_pem)
    creds = enroll(state_dir, fleet.agent_urls[1], fleet.token(), HOST)
    with running_channel(
        fleet.agent_urls[1], creds, state_dir, HOST, CountedChannel, long_poll_s=MAX_WAIT_S
    ) as agent:
        yield agent


def test_an_order_on_one_node_wakes_the_poll_held_by_another(fleet: Fleet, tmp_path: Path) -> None:
    victims = [subprocess.Popen(["sleep", "600"]) for _ in range(2)]
    try:
        with _agent_on_node_b(fleet, tmp_path / "agent") as agent, _admin(fleet, 0) as admin:
            channel = agent.channel
            assert isinstance(channel, CountedChannel)
            poll_until(lambda: channel.polls_sent >= 1, 30, "the agent's first long poll")
            open_poll = channel.polls_sent
            body = {
                "action": "kill_process",
                "agent_id": agent.agent_id,
                "target": {"pid": victims[0].pid},
            }
            ordered = admin.post("/api/v1/actions", json=body)
            assert ordered.status_code == 202, ordered.text
            order_id = ordered.json()["id"]
            done = poll_value(
                lambda: admin.get(f"/api/v1/actions/{order_id}").json(),
                lambda r: r["status"] != "pending",
                MAX_WAIT_S - 5,  # well before the held poll would have ended on its own
                "the order's result on node A",
            )
            assert done["status"] == "done", done
            assert channel.answered_in[order_id] == open_poll  # that poll woke: not the next
            assert victims[0].wait(timeout=10) == -9

            waited = admin.post(
                "/api/v1/actions", json={**body, "target": {"pid": victims[1].pid}, "wait_s": 10}
            )
            assert waited.status_code == 200, waited.text  # ended while A held the request
            assert waited.json()["status"] == "done"
            assert victims[1].wait(timeout=10) == -9
    finally:
        for victim in victims:
            victim.kill()
            victim.wait()
