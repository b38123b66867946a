"""Types of the compiled batch loop (`_batch.pyx`)."""

from collections.abc import Iterable
from typing import Any

from stockade.context.enrich import ContextStage
from stockade.model import Event

def enrich_all(
    stage: ContextStage,
    events: Iterable[Event],
    hits: dict[int, Any],
    changing: frozenset[str],
    host_id: str,
) -> list[Event]: ...
