"""Password spraying: wrong passwords for many accounts from one address lock the address."""

from __future__ import annotations

import pytest

from stockade.platform.services.accounts import LoginPacing
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server
# Who is locked out is tested here, not the pace: with the production pacing the hashing
# pool's rate (2 failed logins a second) turned most of the 20 attempts away for a moment,
# and the test waited that out (~8 s). The rate is tested in test_login_flood.py.
PLATFORM_CONFIG = {
    "login_pacing": LoginPacing(
        failure_delay_s=0.05, refusal_delay_s=0.05, failure_rate_per_s=100, failure_burst=100
    )
}


def test_spraying_many_accounts_locks_the_address(running: PlatformRunner) -> None:
    for i in range(20):
        assert running.login_status("127.0.0.3", f"user{i}", "wrong-password") == 401
    assert running.login_status("127.0.0.3", "admin", running.admin_password) == 429
    assert running.login_status("127.0.0.4", "admin", running.admin_password) == 200
