"""Group commit: batches handed to the store at the same time go in one transaction.

A worker handles several agents' batches at once (the bus delivers each agent's in order,
the next only once the last was stored). Instead of one transaction per batch, batches
that arrive while earlier groups are being written wait and then go together in the next
group (`GroupStore.store_batches`: one COPY, one commit), so each commit, its round trips
and the statements' fixed costs are shared by many batches. Each caller learns its own
batch's outcome only after the group's commit: the bus acks a message after that, so a
crash between commit and ack redelivers batches the store then keeps only once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from stockade.platform.messages import IngestBatch
from stockade.platform.store import StoreError
from stockade.platform.store.base import BatchResult
from stockade.platform.store.runner import StoreRunner

log = logging.getLogger(__name__)
FLUSHES = 4  # groups written at once, each on its own connection: PostgreSQL runs a
# COPY on one core, and several at once keep both the database's cores and the worker busy
GROUP_RECORDS = 1_000  # a group takes no more batches once it holds this many records


@runtime_checkable
class GroupStore(Protocol):
    """A store that writes a group of batches (at most one per agent) in one transaction."""

    def store_batches(
        self, batches: Sequence[IngestBatch], now: int
    ) -> list[BatchResult | StoreError]:
        """Per batch: what it stored, or the error that kept it out."""
        ...


Waiting = tuple[IngestBatch, "asyncio.Future[BatchResult]"]


class GroupCommit:
    """Collects batches handed in concurrently and stores them in groups."""

    def __init__(
        self,
        store: GroupStore,
        runner: StoreRunner,
        flushes: int = FLUSHES,
        group_records: int = GROUP_RECORDS,
    ) -> None:
        self._store = store
        self._runner = runner
        self._flushes = flushes
        self._group_records = group_records
        self._waiting: list[Waiting] = []
        self._running: set[asyncio.Task[None]] = set()

    async def store(self, batch: IngestBatch) -> BatchResult:
        """Store the batch with whatever else is waiting; its result once committed."""
        future: asyncio.Future[BatchResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        self._start_flushes()
        return await future

    def _start_flushes(self) -> None:
        while self._waiting and len(self._running) < self._flushes:
            task = asyncio.create_task(self._flush(self._next_group()))
            self._running.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start_flushes()

    def _next_group(self) -> list[Waiting]:
        """Waiting batches, one per agent (a second one waits its turn), until the group
        holds GROUP_RECORDS records: a full agent batch goes alone, small ones together."""
        group: list[Waiting] = []
        left: list[Waiting] = []
        agents: set[str] = set()
        records = 0
        for waiting in self._waiting:
            batch = waiting[0].batch
            if batch.agent_id in agents or records >= self._group_records:
                left.append(waiting)
            else:
                agents.add(batch.agent_id)
                group.append(waiting)
                records += batch.last_seq - batch.first_seq + 1
        self._waiting = left
        return group

    async def _flush(self, group: list[Waiting]) -> None:
        batches = [batch for batch, _ in group]
        try:
            outcomes = await self._runner.write_batch(
                self._store.store_batches, batches, time.time_ns()
            )
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as e:  # noqa: BLE001  the whole group failed: each batch on its own
            if len(group) == 1:
                _settle(group[0][1], e)
                return
            log.info("a group of %d batches failed (%s): storing each alone", len(group), e)
            await asyncio.gather(*(self._flush([one]) for one in group))
            return
        for (_, future), outcome in zip(group, outcomes, strict=True):
            _settle(future, outcome)


def _settle(future: asyncio.Future[BatchResult], outcome: BatchResult | Exception) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
