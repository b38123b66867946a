"""Fleet correlations' shared state in the store, SQLite and PostgreSQL alike: workers in
several processes judging one spread at once raise its alert once, a signal delivered again
is judged once, and an alert is owed until settled."""

from __future__ import annotations

import functools
import time

from stockade.detect.fleet import (
    FLEET_AGENT,
    AlertFilter,
    FleetCorrelation,
    FleetKind,
    Signal,
    SignalKind,
)
from stockade.model.alerts import Alert, Priority
from stockade.platform.backends import open_fleet_state
from stockade.platform.store import AlertQuery
from tests.support.stores import StoreOpener
from tests.support.together import run_together

MINUTE = 60 * 10**9
TS = time.time_ns()  # today: PostgreSQL has the alerts' partition, as for a stored alert's day
SPREAD = FleetCorrelation(
    name="shell spread", kind=FleetKind.SPREAD, alerts=AlertFilter(), window_ns=10 * MINUTE,
    suppress_ns=10 * MINUTE, priority=Priority.CRITICAL, output="a shell on %fleet.hosts hosts",
    hosts=3,
)  # fmt: skip
SPECS = {SPREAD.name: SPREAD}


def _signal(host: int) -> Signal:
    return Signal(SPREAD.name, SignalKind.ALERT, "Terminal shell", f"host-{host}",
                  TS + host, f"agent-{host}", 7, f"node-{host}")  # fmt: skip


def test_workers_judging_one_spread_at_once_raise_it_once(open_store: StoreOpener) -> None:
    states = [open_fleet_state(open_store()) for _ in range(4)]
    raised: list[Alert] = []

    def judge(n: int) -> None:
        # worker n holds host n's alert (and the last worker host 0's, delivered again)
        raised.extend(states[n].judge(SPECS, [_signal(n % 3)], [], TS, (f"agent-{n}", 1)))

    run_together(functools.partial(judge, n) for n in range(4))
    [alert] = raised
    assert alert.output_fields["fleet.hosts"] == 3
    stored = open_store().query_alerts(AlertQuery())
    assert [(a.agent_id, a.alert.rule) for a in stored] == [(FLEET_AGENT, alert.rule)]
    assert states[0].take_stale(TS + 1, TS + 2) == [alert]  # owed until settled
    states[0].settle([alert.seq])
    assert states[1].take_stale(TS + 3, TS + 4) == []
