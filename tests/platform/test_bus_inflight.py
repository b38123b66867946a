"""A worker's budget of records in flight: many small messages at once, few large ones."""

from __future__ import annotations

import asyncio

from stockade.platform.bus.inflight import RecordBudget


async def _most_at_once(budget: RecordBudget, sizes: list[int]) -> int:
    running = 0
    most = 0

    async def one(size: int) -> None:
        nonlocal running, most
        async with budget.hold(size):
            running += 1
            most = max(most, running)
            await asyncio.sleep(0)
            running -= 1

    await asyncio.gather(*(one(s) for s in sizes))
    return most


def test_small_messages_share_the_budget_and_large_ones_take_turns() -> None:
    assert asyncio.run(_most_at_once(RecordBudget(1000), [10] * 50)) == 50
    assert asyncio.run(_most_at_once(RecordBudget(1000), [500] * 6)) == 2


def test_a_message_larger_than_the_budget_still_goes_alone() -> None:
    assert asyncio.run(_most_at_once(RecordBudget(1000), [5000, 5000])) == 1
