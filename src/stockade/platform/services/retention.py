"""Retention: events and alerts are deleted by age and, past a size cap, oldest first.

Enforced continuously (every `interval_s`) in short write transactions of at most
`chunk_rows` rows each, so ingest waits for the single writer no longer than one chunk.
Past the size cap events go first; alerts only when no event is left, as they are the
smaller and the more valuable record. Incidents that lost all their alerts go by the rule
of `incident_retention.py` (closed, or untouched and past the alerts' age).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from stockade.platform.services.incident_retention import IncidentPruner
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.store import RecordKind, Store, StoreError
from stockade.platform.store.incident_retention import IncidentRetention
from stockade.platform.store.runner import StoreRunner

log = logging.getLogger(__name__)
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long events and alerts are kept (by their own time) and how large the store may
    grow; 0 means no limit."""

    events_max_age_s: float = 7 * DAY_S
    alerts_max_age_s: float = 90 * DAY_S
    max_store_bytes: int = 5 * 1024**3
    interval_s: float = 30.0
    chunk_rows: int = 10_000


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one pass deleted, and the store's size afterwards."""

    deleted: dict[RecordKind, int]
    used_bytes: int
    incidents: int = 0  # incidents removed with their last alert


class RetentionService:
    """Applies a `RetentionPolicy` to the store through the single writer."""

    def __init__(
        self,
        store: Store,
        runner: StoreRunner,
        policy: RetentionPolicy,
        metrics: PlatformMetrics,
        incidents: IncidentRetention | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self.policy = policy
        self._metrics = metrics
        self._incidents = (
            IncidentPruner(incidents, runner, policy.chunk_rows) if incidents is not None else None
        )

    async def _prune(self, kind: RecordKind, before_ts: int | None) -> int:
        count = await self._runner.write(self._store.prune, kind, before_ts, self.policy.chunk_rows)
        self._metrics.retention_deleted.labels(kind=kind.value).inc(count)
        return count

    async def _by_age(self, kind: RecordKind, max_age_s: float, now_ns: int) -> int:
        if max_age_s <= 0:
            return 0
        cutoff = now_ns - int(max_age_s * 1e9)
        total = 0
        while (count := await self._prune(kind, cutoff)) > 0:
            total += count
        return total

    async def _by_size(self, deleted: dict[RecordKind, int]) -> int:
        used = await self._runner.read(self._store.used_bytes)
        cap = self.policy.max_store_bytes
        while cap and used > cap:
            count = await self._prune(RecordKind.EVENTS, None)
            kind = RecordKind.EVENTS
            if count == 0:
                count, kind = await self._prune(RecordKind.ALERTS, None), RecordKind.ALERTS
            if count == 0:
                log.warning(
                    "store uses %d bytes, over its cap of %d, with no record left", used, cap
                )
                break
            deleted[kind] += count
            used = await self._runner.read(self._store.used_bytes)
        return used

    async def enforce(self, now_ns: int | None = None) -> RetentionResult:
        """One pass: delete what is past its age, then the oldest while over the size cap."""
        now = time.time_ns() if now_ns is None else now_ns
        deleted = {
            RecordKind.EVENTS: await self._by_age(
                RecordKind.EVENTS, self.policy.events_max_age_s, now
            ),
            RecordKind.ALERTS: await self._by_age(
                RecordKind.ALERTS, self.policy.alerts_max_age_s, now
            ),
        }
        used = await self._by_size(deleted)
        self._metrics.store_bytes.set(used)
        return RetentionResult(deleted=deleted, used_bytes=used, incidents=await self._orphans(now))

    async def _orphans(self, now_ns: int) -> int:
        """Remove the incidents whose alerts are all gone, as the rule says."""
        if self._incidents is None:
            return 0
        max_age_s = self.policy.alerts_max_age_s
        stale_before = now_ns - int(max_age_s * 1e9) if max_age_s > 0 else None
        count = await self._incidents.prune(stale_before, now_ns)
        self._metrics.retention_deleted.labels(kind="incidents").inc(count)
        return count

    async def run(self) -> None:
        """Enforce the policy every `interval_s` until cancelled; a store error is logged."""
        while True:
            try:
                result = await self.enforce()
            except StoreError as e:
                log.warning("retention: %s; next try in %.0f s", e, self.policy.interval_s)
            except Exception:  # a bug must not end retention silently for good
                log.exception("retention failed; next try in %.0f s", self.policy.interval_s)
            else:
                if any(result.deleted.values()) or result.incidents:
                    log.info(
                        "retention deleted %d events, %d alerts and %d incidents; "
                        "store uses %d bytes",
                        result.deleted[RecordKind.EVENTS],
                        result.deleted[RecordKind.ALERTS],
                        result.incidents,
                        result.used_bytes,
                    )
            await asyncio.sleep(self.policy.interval_s)
