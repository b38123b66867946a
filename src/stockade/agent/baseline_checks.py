"""The agent's baseline checks: the shipped policies run at start and every 24 h, their
results sent to the platform (`POST /api/v1/agent/baseline`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
import msgspec

from stockade.agent.enroll import Credentials, platform_call
from stockade.agent.errors import TransportError
from stockade.baseline.engine import run_policy
from stockade.baseline.load import builtin_policies
from stockade.baseline.model import Policy, PolicyResult
from stockade.baseline.probes import Target
from stockade.model.baseline import BASELINE_PATH, BaselineReport, CheckReport, PolicyReport

log = logging.getLogger(__name__)
EVERY_S = 24 * 3600.0


def report_of(host_id: str, results: list[PolicyResult], ran_at_ns: int) -> BaselineReport:
    """The wire report of one run's results."""
    return BaselineReport(
        host_id=host_id,
        ran_at_ns=ran_at_ns,
        policies=[
            PolicyReport(
                policy_id=r.policy_id,
                policy_name=r.policy_name,
                score=r.score,
                checks=[
                    CheckReport(
                        check_id=c.check_id, title=c.title, status=c.status.value,
                        evidence=c.evidence, remediation=c.remediation,
                        compliance={k: list(v) for k, v in c.compliance.items()},
                    )
                    for c in r.results
                ],
            )
            for r in results
        ],
    )  # fmt: skip


class BaselineSender:
    """POSTs baseline reports to the platform's agent port."""

    def __init__(self, server_url: str, credentials: Credentials, timeout_s: float = 30) -> None:
        self._url = server_url.rstrip("/") + BASELINE_PATH
        self._client = httpx.Client(verify=credentials.ssl_context(), timeout=timeout_s)

    def send(self, report: BaselineReport) -> None:
        """Store the report on the platform; TransportError when it did not."""
        platform_call(
            self._client,
            "POST",
            self._url,
            "baseline",
            content=msgspec.json.encode(report),
            headers={"content-type": "application/json"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class BaselineWorker:
    """A thread running the policies at start and every `every_s`, sending each run."""

    def __init__(
        self,
        host_id: str,
        send: Callable[[BaselineReport], None],
        policies: list[Policy] | None = None,
        every_s: float = EVERY_S,
        target: Target | None = None,
    ) -> None:
        self.host_id = host_id
        self._send = send
        self._policies = policies if policies is not None else builtin_policies()
        self.every_s = every_s
        self._target = target or Target("/")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-baseline", daemon=True)

    def run_once(self) -> BaselineReport:
        """Run every policy and send the results."""
        results = [run_policy(p, self._target) for p in self._policies]
        report = report_of(self.host_id, results, time.time_ns())
        self._send(report)
        return report

    def start(self) -> BaselineWorker:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; a run under way (a file walk can take a while) is not waited for."""
        self._stop.set()
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except TransportError as e:
                log.warning("%s; baseline results are sent with the next run", e)
            self._stop.wait(self.every_s)
