"""Baseline check runs in SQLite: every run kept (history), the newest per host and policy
is the current state. `SqliteStore` takes these in as a mixin."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import msgspec

from stockade.model.baseline import BaselineReport, CheckReport
from stockade.platform.store.sql import Connection

RUNS_KEPT_PER_POLICY = 1000  # older runs of a host's policy are dropped past this many
_checks_decoder = msgspec.json.Decoder(list[CheckReport])


@dataclass(frozen=True, slots=True)
class BaselineRun:
    """One policy's run on one host."""

    host_id: str
    policy_id: str
    policy_name: str
    ran_at: int
    score: float
    passed: int
    failed: int
    not_applicable: int
    checks: list[CheckReport]


class BaselineStore(Protocol):
    """What the baseline API and ingest need of the store."""

    def record_baseline(self, report: BaselineReport) -> int:
        """Store one run's policies; returns how many were stored."""
        ...

    def latest_baseline(self, host_id: str) -> list[BaselineRun]:
        """The newest run of each policy on the host."""
        ...

    def baseline_history(self, host_id: str, limit: int) -> list[BaselineRun]:
        """The host's runs, newest first, without their checks."""
        ...

    def fleet_baseline(self) -> list[BaselineRun]:
        """The newest run of each policy on every host, without their checks."""
        ...


_COLUMNS = "host_id, policy_id, policy_name, ran_at, score, passed, failed, not_applicable"


def _run(row: tuple[object, ...], checks: list[CheckReport] | None = None) -> BaselineRun:
    host, policy, name, at, score, passed, failed, na = row[:8]
    return BaselineRun(
        str(host), str(policy), str(name), int(str(at)), float(str(score)),
        int(str(passed)), int(str(failed)), int(str(na)), checks or [],
    )  # fmt: skip


class SqliteBaseline:
    """The baseline's SQL, mixed into `SqliteStore` (which provides the connections)."""

    def _conn(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def record_baseline(self, report: BaselineReport) -> int:
        """Store one run's policies, dropping runs past the kept history."""
        with self._write() as conn:
            for policy in report.policies:
                counts = {s: sum(1 for c in policy.checks if c.status == s) for s in
                          ("pass", "fail", "not_applicable")}  # fmt: skip
                conn.execute(
                    f"INSERT INTO baseline_runs ({_COLUMNS}, checks) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        report.host_id, policy.policy_id, policy.policy_name, report.ran_at_ns,
                        policy.score, counts["pass"], counts["fail"], counts["not_applicable"],
                        msgspec.json.encode(policy.checks).decode(),
                    ),
                )  # fmt: skip
                conn.execute(
                    "DELETE FROM baseline_runs WHERE host_id = ? AND policy_id = ? AND id NOT IN"
                    " (SELECT id FROM baseline_runs WHERE host_id = ? AND policy_id = ?"
                    "  ORDER BY ran_at DESC LIMIT ?)",
                    (report.host_id, policy.policy_id, report.host_id, policy.policy_id,
                     RUNS_KEPT_PER_POLICY),
                )  # fmt: skip
        return len(report.policies)

    def latest_baseline(self, host_id: str) -> list[BaselineRun]:
        """The newest run of each policy on the host, with its checks."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_COLUMNS}, checks FROM baseline_runs b WHERE host_id = ? AND ran_at ="
                " (SELECT MAX(ran_at) FROM baseline_runs WHERE host_id = b.host_id"
                "  AND policy_id = b.policy_id) ORDER BY policy_id",
                (host_id,),
            )
            .fetchall()
        )
        return [_run(r, _checks_decoder.decode(r[8])) for r in rows]

    def baseline_history(self, host_id: str, limit: int) -> list[BaselineRun]:
        """The host's runs, newest first (checks left out)."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_COLUMNS} FROM baseline_runs WHERE host_id = ?"
                " ORDER BY ran_at DESC, policy_id LIMIT ?",
                (host_id, limit),
            )
            .fetchall()
        )
        return [_run(r) for r in rows]

    def fleet_baseline(self) -> list[BaselineRun]:
        """The newest run of each policy on every host (checks left out)."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_COLUMNS} FROM baseline_runs b WHERE ran_at ="
                " (SELECT MAX(ran_at) FROM baseline_runs WHERE host_id = b.host_id"
                "  AND policy_id = b.policy_id) ORDER BY failed DESC, host_id, policy_id"
            )
            .fetchall()
        )
        return [_run(r) for r in rows]
