"""Waiting for something a test expects: poll with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL_S = 0.05


def poll_value(
    fetch: Callable[[], T],
    accept: Callable[[T], object],
    timeout: float,
    what: str,
    *,
    interval: float = INTERVAL_S,
) -> T:
    """Call `fetch` until `accept(result)` holds and return that result.

    Raises AssertionError naming `what` and the last result when `timeout` seconds pass
    first. `fetch` may do work between checks (send a request, exec a process).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            last = "" if isinstance(value, bool | None) else f" (last: {repr(value)[:500]})"
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{last}")
        time.sleep(interval)


def poll_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = INTERVAL_S,
) -> T:
    """Call `predicate` until it returns a truthy value and return that value (see `poll_value`)."""
    value = poll_value(predicate, bool, timeout, what, interval=interval)
    assert value is not None
    return value


async def poll_until_async(
    predicate: Callable[[], object], timeout: float, what: str, *, interval: float = INTERVAL_S
) -> None:
    """`poll_until` inside an event loop: awaits between checks so the loop's tasks run."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


def holds_throughout(
    fetch: Callable[[], T],
    accept: Callable[[T], object],
    seconds: float,
    what: str,
    *,
    interval: float = INTERVAL_S,
) -> int:
    """Call `fetch` for `seconds`, asserting `accept(result)` every time; returns how many
    results held. For what must stay true across a known window (a cache's age), not a wait."""
    deadline = time.monotonic() + seconds
    held = 0
    while True:
        value = fetch()
        if not accept(value):
            raise AssertionError(f"{what} stopped holding after {held} checks: {value!r}"[:600])
        held += 1
        if time.monotonic() >= deadline:
            return held
        time.sleep(interval)
