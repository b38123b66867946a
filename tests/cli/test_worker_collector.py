"""`stockade worker` tunes the garbage collector for ingest's many short-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from stockade.cli.worker import collect_less_often


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_worker_collects_less_often_and_never_walks_its_start_up() -> None:
    gc.unfreeze()
    collect_less_often()
    assert gc.get_threshold()[0] >= 50_000
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()  # tuned, not off: cycles are still collected
