"""The agent's order channel: a long poll for users' orders, and reports of every action.

`GET /api/v1/agent/orders?wait_s=N` is held open by the platform until an order for this
agent exists (or N seconds pass); orders still pending come again after a reconnect, and
the journal keeps any from running twice. The answer carries the version of the policies
the platform pushes; a new version is fetched (`GET /api/v1/agent/policies`) and judged
beside the local policy files (a malformed one is logged and the previous kept). Ended
records go to `POST /api/v1/agent/actions` as soon as they are written, and again until
the platform took them.
"""

from __future__ import annotations

import logging
import threading

import httpx
import msgspec

from stockade.agent.enroll import Credentials, platform_call
from stockade.agent.errors import TransportError
from stockade.agent.responder import Responder
from stockade.model.actions import ActionReport, OrdersAnswer, PolicyPush
from stockade.respond.errors import PolicyError
from stockade.respond.policy_load import parse_policies

log = logging.getLogger(__name__)
ORDERS_PATH = "/api/v1/agent/orders"
POLICIES_PATH = "/api/v1/agent/policies"
REPORTS_PATH = "/api/v1/agent/actions"
LONG_POLL_S = 15.0
RETRY_S = 1.0
MAX_RETRY_S = 30.0
_answer = msgspec.json.Decoder(OrdersAnswer)
_policies = msgspec.json.Decoder(PolicyPush)


class OrderChannel:
    """Two threads over the agent's mTLS identity: one waits for orders, one reports."""

    def __init__(
        self,
        server_url: str,
        credentials: Credentials,
        responder: Responder,
        long_poll_s: float = LONG_POLL_S,
    ) -> None:
        self._url = server_url.rstrip("/")
        self._credentials = credentials
        self._responder = responder
        self._long_poll_s = long_poll_s  # how long the platform may hold one poll
        self._stop = threading.Event()
        self.policy_version = 0  # of the pushed policies the responder has
        self._threads = [
            threading.Thread(target=self._poll, name="stockade-orders", daemon=True),
            threading.Thread(target=self._report, name="stockade-reports", daemon=True),
        ]

    def new_client(self) -> httpx.Client:
        """An HTTP client presenting the agent's current certificate."""
        # a new client per reconnect: it presents the current (maybe renewed) certificate
        timeout = httpx.Timeout(10.0, read=self._long_poll_s + 10.0)
        return httpx.Client(verify=self._credentials.ssl_context(), timeout=timeout)

    def start(self) -> OrderChannel:
        """Start both threads."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Report what is left (briefly) and stop; a poll in flight ends with its thread."""
        self._stop.set()
        self._responder.journal.changed.set()
        self._threads[1].join(timeout=5)

    def _poll(self) -> None:
        client = self.new_client()
        delay = RETRY_S
        while not self._stop.is_set():
            try:
                answer = self.fetch_orders(client)
                delay = RETRY_S
                if answer.policy_version != self.policy_version:
                    self._take_policies(client)
                for order in answer.orders:
                    if self._responder.order(order):
                        log.info("order %s: %s %s", order.id, order.action, order.target)
            except (TransportError, msgspec.DecodeError) as e:
                log.warning("orders: %s; retrying in %.0f s", e, delay)
                client.close()
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_RETRY_S)  # a refusal (revoked) must not flood logs
                client = self.new_client()
        client.close()

    def _get(self, client: httpx.Client, path: str, **params: float) -> bytes:
        return platform_call(client, "GET", self._url + path, path, params=params).content

    def fetch_orders(self, client: httpx.Client) -> OrdersAnswer:
        """One long poll: the orders pending for this agent (maybe none)."""
        return _answer.decode(self._get(client, ORDERS_PATH, wait_s=self._long_poll_s))

    def _take_policies(self, client: httpx.Client) -> None:
        """Fetch the pushed policies and hand them to the responder."""
        pushed = _policies.decode(self._get(client, POLICIES_PATH))
        where = f"platform policies v{pushed.version}"
        try:
            policies = parse_policies(pushed.yaml, where) if pushed.yaml else []
        except PolicyError as e:  # the platform checks them: only a newer agent disagrees
            log.error("%s; keeping the policies of v%d", e, self.policy_version)
        else:
            self._responder.set_pushed(policies)
            log.info("%s: %d policies", where, len(policies))
        self.policy_version = pushed.version

    def _report(self) -> None:
        client = self.new_client()
        journal = self._responder.journal
        while True:
            journal.changed.wait(0 if self._stop.is_set() else 5.0)
            journal.changed.clear()
            pending = journal.unreported()
            if pending:
                try:
                    self.send_report(client, ActionReport(records=pending))
                    journal.mark_reported(pending)
                except TransportError as e:
                    log.warning("action reports: %s; retrying in %.0f s", e, RETRY_S)
                    journal.changed.set()
                    if self._stop.wait(RETRY_S):
                        break
            elif self._stop.is_set():
                break
        client.close()

    def send_report(self, client: httpx.Client, report: ActionReport) -> None:
        """Post ended records; TransportError unless the platform stored them."""
        platform_call(
            client,
            "POST",
            self._url + REPORTS_PATH,
            "action report",
            content=msgspec.json.encode(report),
            headers={"content-type": "application/json"},
        )
