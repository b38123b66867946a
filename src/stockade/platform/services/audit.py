"""The audit log: every state-changing call, who made it, from where, and the answer."""

from __future__ import annotations

import time

from stockade.platform.store import AuditRecord, Store
from stockade.platform.store.runner import StoreRunner


class AuditService:
    """Appends to and reads the store's audit log, off the event loop."""

    def __init__(self, store: Store, runner: StoreRunner) -> None:
        self._store, self._runner = store, runner

    async def record(self, username: str, method: str, path: str, status: int, source: str) -> None:
        """Append one entry stamped with the current time."""
        entry = AuditRecord(time.time_ns(), username, method, path, status, source)
        await self._runner.write(self._store.add_audit, entry)

    async def newest(self, limit: int) -> list[AuditRecord]:
        """The newest entries, newest first."""
        return await self._runner.read(self._store.list_audit, limit)
