"""Calls run at the same moment in threads, as several processes would: races made real."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


def run_together(calls: Iterable[Callable[[], object]]) -> None:
    """Start every call in a thread of its own, wait for all, re-raise the first error."""
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as e:  # re-raised in the test's thread below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
