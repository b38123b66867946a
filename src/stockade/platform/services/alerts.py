"""The alert console's service: pages of alerts, one alert, triage by a user, dashboard stats."""

from __future__ import annotations

import time

from stockade.platform.errors import PlatformError
from stockade.platform.store import Store
from stockade.platform.store.alert_console import (
    AlertConsoleStore,
    AlertPage,
    AlertPageQuery,
    AlertStats,
    AlertStatus,
    ConsoleAlert,
)
from stockade.platform.store.runner import StoreRunner


class AlertConsoleUnsupported(PlatformError):
    """The configured store cannot serve the alert console."""


class AlertService:
    """Runs the alert console's store calls off the event loop."""

    def __init__(self, store: Store, runner: StoreRunner) -> None:
        if not isinstance(store, AlertConsoleStore):
            raise AlertConsoleUnsupported(
                f"store {type(store).__name__} has no alert console calls; use --store sqlite"
            )
        self._store: AlertConsoleStore = store
        self._runner = runner

    async def page(self, query: AlertPageQuery) -> AlertPage:
        """One page of alerts; QueryTimeout past the query's budget."""
        return await self._runner.read(self._store.page_alerts, query)

    async def get(self, alert_id: int) -> ConsoleAlert | None:
        """One alert, if stored."""
        return await self._runner.read(self._store.get_alert, alert_id)

    async def set_status(
        self, alert_id: int, status: AlertStatus, username: str
    ) -> ConsoleAlert | None:
        """Set an alert's triage status as `username`, now; None when there is no such alert."""
        return await self._runner.write(
            self._store.set_alert_status, alert_id, status, username, time.time_ns()
        )

    async def stats(self, since: int, until: int, buckets: int, budget_s: float) -> AlertStats:
        """The dashboard's counts over [since, until)."""
        return await self._runner.read(self._store.alert_stats, since, until, buckets, budget_s)
