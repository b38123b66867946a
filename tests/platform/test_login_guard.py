"""The login guard's counting, pure: which failures lock which key, and for how long."""

from __future__ import annotations

from stockade.platform.services.login_guard import MINUTE_NS, LoginGuard


def test_account_from_one_address_locks_after_five_failures() -> None:
    guard = LoginGuard()
    started = [guard.failed("admin", "10.0.0.1", i) for i in range(5)]
    assert [len(s) for s in started] == [0, 0, 0, 0, 1]
    assert guard.locked("admin", "10.0.0.1", 5) is not None
    assert guard.locked("admin", "10.0.0.2", 5) is None  # the owner elsewhere is not locked
    assert guard.locked("admin", "10.0.0.1", 15 * MINUTE_NS + 5) is None  # the lockout ends


def test_failures_outside_the_window_do_not_count() -> None:
    guard = LoginGuard()
    for i in range(10):
        assert guard.failed("admin", "10.0.0.1", i * 4 * MINUTE_NS) == []


def test_success_forgets_the_accounts_failures_from_that_address() -> None:
    guard = LoginGuard()
    for i in range(4):
        guard.failed("admin", "10.0.0.1", i)
    guard.succeeded("admin", "10.0.0.1")
    assert guard.failed("admin", "10.0.0.1", 10) == []


def test_many_addresses_on_one_account_lock_the_account() -> None:
    guard = LoginGuard(per_account=10)
    for i in range(10):
        guard.failed("admin", f"10.0.0.{i}", i)
    lockout = guard.locked("admin", "10.9.9.9", 11)
    assert lockout is not None and lockout.key == "account 'admin'"


def test_made_up_names_do_not_grow_memory_without_bound() -> None:
    guard = LoginGuard(max_keys=100, per_address=10**9, window_ns=10)
    for i in range(1000):
        guard.failed(f"user{i}", "10.0.0.1", i * 100)
    assert guard.keys_tracked <= 3 * 101


def test_an_address_lockout_is_known_without_the_account() -> None:
    guard = LoginGuard()
    for i in range(20):  # spraying: one wrong password for each of 20 accounts
        guard.failed(f"user{i}", "10.0.0.1", i)
    assert guard.address_locked("10.0.0.1", 20) is not None
    assert guard.address_locked("10.0.0.2", 20) is None
    assert guard.address_locked("10.0.0.1", 15 * MINUTE_NS + 20) is None
