"""Password hashing on its own small, bounded thread pool, apart from the store's threads."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from stockade.platform.errors import PlatformError

P = ParamSpec("P")
R = TypeVar("R")
FAILURE_RATE_PER_S = 2.0  # failed logins checked a second, on average
FAILURE_BURST = 5.0  # ... and at once, after a quiet while


class HashPoolBusy(PlatformError):
    """Too many password hashes are waiting: refuse rather than queue without bound."""

    @classmethod
    def default(cls) -> HashPoolBusy:
        """The refusal with its usual message."""
        return cls("too many logins at once; try again in a moment")


class HashPool:
    """Runs password hashing on `workers` threads with at most `queue` calls waiting; failed
    logins (anyone may try one) also at most `rate` a second on average, in bursts of `burst`.

    A login flood from many addresses then costs a tenth of a core (2 x ~50 ms a second),
    and ingest keeps the rest; a good login gives its turn back (`refund`).
    """

    def __init__(
        self,
        workers: int = 1,
        queue: int = 8,
        rate: float = FAILURE_RATE_PER_S,
        burst: float = FAILURE_BURST,
    ) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="password-hash")
        self._limit = workers + queue
        self._rate, self._burst = rate, burst
        # touched only on the event loop's thread
        self._pending = 0
        self._tokens, self._refilled = burst, time.monotonic()

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def refund(self) -> None:
        """Give back the turn of a login that succeeded: only failures use up the rate."""
        self._tokens = min(self._burst, self._tokens + 1)

    def has_turn(self) -> bool:
        """Whether `admit` would let a login in now (nothing is taken)."""
        now = time.monotonic()
        tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        return self._pending < self._limit and tokens >= 1

    def admit(self) -> None:
        """Take a login's turn before any of its work (store read, hash); HashPoolBusy when
        the rate is spent or the queue is full."""
        if self._pending >= self._limit or not self._take_token():
            raise HashPoolBusy.default()

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `fn` on the pool; HashPoolBusy when the queue is full."""
        if self._pending >= self._limit:
            raise HashPoolBusy.default()
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            call = functools.partial(fn, *args, **kwargs)
            return await loop.run_in_executor(self._executor, call)
        finally:
            self._pending -= 1

    def close(self) -> None:
        """Wait for running hashes and stop the threads."""
        self._executor.shutdown(wait=True)
