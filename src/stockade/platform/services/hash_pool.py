"""Password hashing on its own small, bounded thread pool, apart from the store's threads."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from stockade.platform.errors import PlatformError

P = ParamSpec("P")
R = TypeVar("R")


class HashPoolBusy(PlatformError):
    """Too many password hashes are waiting: refuse rather than queue without bound."""


class HashPool:
    """Runs password hashing on `workers` threads with at most `queue` calls waiting.

    A login flood then costs at most `workers` cores, and ingest keeps the rest.
    """

    def __init__(self, workers: int = 1, queue: int = 8) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="password-hash")
        self._limit = workers + queue
        self._pending = 0  # touched only on the event loop's thread

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `fn` on the pool; HashPoolBusy when the queue is full."""
        if self._pending >= self._limit:
            raise HashPoolBusy("too many logins at once; try again in a moment")
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
