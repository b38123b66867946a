"""The agent's side of the audit trail: every action it took, on disk, until reported.

One JSON line per state of a record (an order is written as started before it runs, then
again when it ends); the last line of an id is its state. Reported ids are appended to a
second file. An order found started but never ended after a restart is reported failed,
never run again: an order runs at most once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import msgspec

from stockade.model.actions import ActionRecord, ActionStatus

_decoder = msgspec.json.Decoder(ActionRecord)
KEEP_REPORTED = 10_000  # reported records kept in memory for lookups; the file keeps all


class ActionJournal:
    """Action records by id, persisted in `dir/actions.jsonl`; thread-safe."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._path = directory / "actions.jsonl"
        self._reported_path = directory / "actions.reported"
        self._lock = threading.Lock()
        self.changed = threading.Event()  # set when something awaits reporting
        self._records: dict[str, ActionRecord] = {}
        self._reported: set[str] = set()
        self._load()
        self._file = self._path.open("ab")
        self._reported_file = self._reported_path.open("a")

    def _load(self) -> None:
        if self._path.exists():
            for line in self._path.read_bytes().splitlines():
                try:
                    record = _decoder.decode(line)
                except msgspec.DecodeError:
                    continue  # a line torn by a crash: the record before it stands
                self._records[record.id] = record
        if self._reported_path.exists():
            self._reported = set(self._reported_path.read_text().split())
        for record in list(self._records.values()):
            if record.status == ActionStatus.PENDING:
                self._records[record.id] = msgspec.structs.replace(
                    record,
                    status=ActionStatus.FAILED,
                    error="the agent stopped while the action ran; it was not run again",
                    completed_at=time.time_ns(),
                )
                self._reported.discard(record.id)
        if self.unreported():
            self.changed.set()

    def write(self, record: ActionRecord) -> None:
        """Record a state of an action (on disk before anything else happens)."""
        line = msgspec.json.encode(record) + b"\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            self._records[record.id] = record
            self._reported.discard(record.id)
        if record.status != ActionStatus.PENDING:
            self.changed.set()

    def has(self, record_id: str) -> bool:
        """True when an action with this id was started here (orders run once)."""
        with self._lock:
            return record_id in self._records

    def get(self, record_id: str) -> ActionRecord | None:
        """The current state of one record."""
        with self._lock:
            return self._records.get(record_id)

    def unreported(self) -> list[ActionRecord]:
        """Ended records the platform has not acknowledged, oldest first."""
        with self._lock:
            return [
                r
                for r in self._records.values()
                if r.status != ActionStatus.PENDING and r.id not in self._reported
            ]

    def mark_reported(self, records: list[ActionRecord]) -> None:
        """The platform stored these states."""
        with self._lock:
            for record in records:
                if self._records.get(record.id) is record:
                    self._reported.add(record.id)
                    self._reported_file.write(record.id + "\n")
            self._reported_file.flush()
            if len(self._records) > KEEP_REPORTED:
                for record_id in [r for r in self._records if r in self._reported][:1000]:
                    self._records.pop(record_id)

    def close(self) -> None:
        """Close the files."""
        with self._lock:
            self._file.close()
            self._reported_file.close()
