"""A real `Agent` run in a background thread, with its failure reported to the test."""

from __future__ import annotations

import threading
from types import TracebackType

from stockade.agent import Agent
from tests.support.polling import poll_until

READY_TIMEOUT_S = 90  # a deadline: a loaded machine starts the sensor slowly
STOP_TIMEOUT_S = 60


class AgentRunner:
    """Runs `agent.run(stop)` in a thread; use as a context manager or `start()`/`stop()`."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-agent")

    def _run(self) -> None:
        try:
            self.agent.run(self._stop)
        except BaseException as e:  # re-raised in the test's thread by wait_ready()/stop()
            self.failure = e

    def start(self, timeout: float = READY_TIMEOUT_S) -> AgentRunner:
        """Start the agent and wait until events flow (enrolled, sensor started)."""
        self._thread.start()
        poll_until(
            lambda: self.agent.ready.is_set() or self.failure is not None,
            timeout,
            "the agent to be ready",
        )
        self._raise_failure()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ask the agent to stop, wait for its thread, re-raise what it died of."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        assert not self._thread.is_alive(), f"agent did not stop within {timeout:g}s"
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise AssertionError(f"the agent failed: {self.failure!r}") from self.failure

    def __enter__(self) -> AgentRunner:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.stop()
            return
        self._stop.set()  # the test failed already: stop without masking its error
        self._thread.join(STOP_TIMEOUT_S)
