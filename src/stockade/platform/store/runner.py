"""Runs blocking `Store` calls off the event loop: one writer, readers for users and for agents."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class StoreRunner:
    """Serialises writes on one thread (SQLite has one writer) and spreads reads on others.

    Agents' reads (acks, identities) have threads of their own: slow user queries (up to the
    query budget each) or a flood of console requests never make ingest wait for a reader.
    """

    def __init__(self, readers: int = 2, agent_readers: int = 1, batch_writers: int = 0) -> None:
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        # a store whose batches may be written concurrently (PostgreSQL: each agent's row
        # locked) stores several agents' batches at once, hiding each commit's round trips
        self._batch_writers = (
            ThreadPoolExecutor(batch_writers, thread_name_prefix="batch-writer")
            if batch_writers
            else self._writer
        )
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="store-reader")
        self._agent_readers = ThreadPoolExecutor(agent_readers, thread_name_prefix="agent-reader")

    async def write(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a writing store call on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    async def write_batch(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `store_batch` on a batch writer thread (the writer's, when there are none)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        return await loop.run_in_executor(self._batch_writers, call)

    async def read(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a reading store call for a user (console, user API) on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(fn, *args, **kwargs))

    async def read_for_agent(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a reading store call for an agent on the agents' own reader thread."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        return await loop.run_in_executor(self._agent_readers, call)

    def close(self) -> None:
        """Wait for running calls and stop the threads."""
        self._writer.shutdown(wait=True)
        self._batch_writers.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._agent_readers.shutdown(wait=True)
