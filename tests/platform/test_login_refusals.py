"""Refused logins reach the audit log counted: the first of a window at once, then one count."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from stockade.platform.services.accounts import REFUSED, AccountError, AccountService, LoginPacing
from stockade.platform.services.audit import AuditService
from stockade.platform.services.login_refusals import (
    MANY_ADDRESSES,
    MINUTE_NS,
    RefusalCount,
    RefusalTally,
)
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite import SqliteStore


def test_first_refusal_is_reported_and_the_repeats_counted_when_the_window_ends() -> None:
    tally = RefusalTally()
    reported = [tally.refused("10.0.0.1", i) for i in range(100)]
    assert reported == [True] + [False] * 99
    assert tally.ended(MINUTE_NS - 1) == []  # the window is still open
    assert tally.ended(MINUTE_NS) == [RefusalCount("10.0.0.1", 99, MINUTE_NS)]
    assert tally.ended(2 * MINUTE_NS) == []  # counted once


def test_addresses_are_counted_apart() -> None:
    tally = RefusalTally()
    assert tally.refused("10.0.0.1", 0) and tally.refused("10.0.0.2", 1)
    tally.refused("10.0.0.2", 2)
    assert tally.ended(MINUTE_NS + 1) == [RefusalCount("10.0.0.2", 1, MINUTE_NS + 1)]


def test_a_refusal_after_the_window_opens_the_next_and_keeps_the_count() -> None:
    tally = RefusalTally()
    tally.refused("10.0.0.1", 0)
    tally.refused("10.0.0.1", 1)
    assert tally.refused("10.0.0.1", MINUTE_NS + 5)  # a new window, reported at once
    assert tally.ended(MINUTE_NS + 6) == [RefusalCount("10.0.0.1", 1, MINUTE_NS)]


def test_drain_reports_open_windows_on_shutdown() -> None:
    tally = RefusalTally()
    for i in range(3):
        tally.refused("10.0.0.1", i)
    assert tally.drain() == [RefusalCount("10.0.0.1", 2, MINUTE_NS)]
    assert tally.drain() == []


def test_many_addresses_share_one_count() -> None:
    tally = RefusalTally(max_addresses=2)
    opened = [tally.refused(f"10.0.0.{n}", n) for n in range(10)]
    assert opened == [True, True, True] + [False] * 7
    counts = {c.address: c.count for c in tally.drain()}
    assert counts == {MANY_ADDRESSES: 7}


def test_a_locked_out_flood_is_two_audit_rows(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "stockade.db"))
    runner = StoreRunner()
    quick = LoginPacing(failure_delay_s=0.05, refusal_delay_s=0.05)  # the rows are tested here
    accounts = AccountService(store, runner, AuditService(store, runner), quick)

    async def flood() -> list[BaseException | str]:
        for i in range(5):  # wrong guesses, checked: the fifth locks the account here out
            with contextlib.suppress(AccountError):
                await accounts.login("admin", f"guess-{i}", "10.0.0.9")
        guesses = (accounts.login("admin", f"again-{i}", "10.0.0.9") for i in range(20))
        answers = await asyncio.gather(*guesses, return_exceptions=True)
        await accounts.report_refusals(final=True)
        return answers

    try:
        answers = asyncio.run(flood())
        audit = store.list_audit(100)
    finally:
        accounts.close()
        runner.close()
        store.close()
    assert {a.status for a in answers if isinstance(a, AccountError)} == {429}
    assert len(answers) == 20
    refused = [a.path for a in audit if a.method == REFUSED]
    assert len(refused) == 2, refused
    assert "refused: too many failed logins" in refused[1]  # the first, at once (newest first)
    assert refused[0] == "19 more logins refused from 10.0.0.9"
