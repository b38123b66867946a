"""How much a worker handles at once, counted in records rather than in messages.

A bus message carries from one record to a full agent batch (1,000 and more). Counting
records lets a worker take many small batches at once (the store then writes them in a
few groups: group commit) while it holds only a few full ones, so that decoding the next
ones never runs far ahead of what the store can take.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RecordBudget:
    """An asyncio semaphore weighted by records; one larger than the whole budget still
    goes, alone."""

    def __init__(self, records: int) -> None:
        self._budget = records
        self._free = records
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, records: int) -> AsyncIterator[None]:
        """Wait until `records` (at most the whole budget) are free; hold them meanwhile."""
        weight = max(1, min(records, self._budget))
        async with self._changed:
            await self._changed.wait_for(lambda: self._free >= weight)
            self._free -= weight
        try:
            yield
        finally:
            async with self._changed:
                self._free += weight
                self._changed.notify_all()
