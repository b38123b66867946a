"""Cross-host correlation on the workers: agents of four hosts post batches to an API node,
two `stockade worker`s on NATS JetStream and PostgreSQL take them, and the shipped fleet
correlations fire exactly once each: one rule on three hosts (a spread), a connection from
host 1 to host 3's address followed by an alert on host 3 (lateral movement). Their
benign twins (a rule on one host only, unrelated rules, a connection to a host that
raises nothing after) raise nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from stockade.model.alerts import Alert
from stockade.model.events import Event, FdInfo, Process
from stockade.platform.timestamps import format_ns
from tests.support.agent_client import TestAgent
from tests.support.fleet import Fleet
from tests.support.nats import NatsServer
from tests.support.polling import poll_until

pytestmark = [pytest.mark.server]

SPREAD_RULE = "Fleet test: payload dropped"
LATERAL_RULE = "Fleet test: shell after login"
S = 1_000_000_000


@pytest.fixture
def fleet(tmp_path: Path, nats_server: NatsServer, postgres_url: str) -> Iterator[Fleet]:
    running = Fleet(tmp_path, nats_server, 1, 2, "postgresql", postgres_url).start()
    try:
        yield running
    finally:
        running.stop()


class Host:
    """One enrolled host's agent and the next seq it sends."""

    def __init__(self, agent: TestAgent) -> None:
        self.agent = agent
        self.seq = 0

    def send(self, events: list[Event], alerts: list[Alert]) -> None:
        """One batch of these records, numbered in order."""
        for event in events:
            self.seq += 1
            event.seq = self.seq
        for alert in alerts:
            self.seq += 1
            alert.seq = self.seq
        response = self.agent.send(self.agent.batch(events, alerts))
        assert response.status_code == 200, response.text

    def socket(self, ts: int, call: str, server: str) -> Event:
        """A TCP connect (to `server`) or accept (on `server`, this host's address)."""
        fd = FdInfo(
            type="ipv4", l4proto="tcp", sip="10.77.0.200", sport=41000, dip=server, dport=22
        )
        proc = Process(pid=4242, name="ssh" if call == "connect" else "sshd")
        return Event(type=call, ts=ts, proc=proc, fd=fd, host_id=self.agent.host_id)

    def alert(self, ts: int, rule: str) -> Alert:
        """A WARNING alert of `rule` at `ts`."""
        return Alert(
            uuid=f"{self.agent.host_id}-{ts}",
            output=f"{rule} on {self.agent.host_id}",
            priority="Warning",
            rule=rule,
            time=format_ns(ts),
            output_fields={"proc.name": "sh"},
            hostname=self.agent.host.hostname,
            host_id=self.agent.host_id,
        )


def _enroll(fleet: Fleet, root: Path, count: int) -> list[Host]:
    ca = fleet.ca_pem.decode()
    return [
        Host(
            TestAgent.enroll(
                fleet.agent_urls[0],
                ca,
                fleet.token(),
                root / f"agent-{i}",
                hostname=f"node-{i}",
                host_id=f"host-{i}",
            )
        )
        for i in range(1, count + 1)
    ]


def test_fleet_correlations_fire_once_across_workers(fleet: Fleet, tmp_path: Path) -> None:
    hosts = _enroll(fleet, tmp_path, 4)
    h1, h2, h3, h4 = hosts
    now = time.time_ns()
    early = now - 60 * S
    # each host's records in one batch, the hosts' batches at once: different workers
    batches = [
        (h1, [h1.socket(now, "connect", "10.77.0.3")], [h1.alert(early, SPREAD_RULE)]),
        (
            h2,
            [h2.socket(now + S, "connect", "10.77.0.4")],  # host 4 raises nothing after it
            [h2.alert(early + S, SPREAD_RULE), h2.alert(early, "Fleet test: unrelated A")],
        ),
        (
            h3,
            [h3.socket(now - S, "accept4", "10.77.0.3")],  # host 3 shows its own address
            [h3.alert(early + 2 * S, SPREAD_RULE), h3.alert(now + 3 * S, LATERAL_RULE)],
        ),
        (
            h4,
            [h4.socket(now - S, "accept4", "10.77.0.4")],
            [h4.alert(early + 3 * S, SPREAD_RULE), h4.alert(early, "Fleet test: unrelated B")],
        ),
    ]
    lonely = [h1.alert(early + i * S, "Fleet test: one host only") for i in range(3)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: b[0].send(b[1], b[2]), batches))
    h1.send([], lonely)
    # every alert counts for two correlations (same rule, lateral), every connect for one
    expected_signals = 2 * (len(lonely) + sum(len(b[2]) for b in batches)) + 2
    poll_until(
        lambda: fleet.rows("SELECT count(*) FROM fleet_signals")[0][0] >= expected_signals,
        60,
        "every batch judged by the workers",
    )
    fired = fleet.rows(
        "SELECT rule, host_id, body, incident_id FROM alerts WHERE agent_id = 'fleet' ORDER BY seq"
    )
    by_rule = {row[0]: row for row in fired}
    assert sorted(by_rule) == ["Lateral movement between hosts", "Same detection on many hosts"]
    assert len(fired) == 2, fired  # once each, though two workers judged
    spread, lateral = (
        by_rule["Same detection on many hosts"],
        by_rule["Lateral movement between hosts"],
    )
    fields = msgspec.json.decode(spread[2], type=Alert).output_fields
    assert fields["fleet.group"] == SPREAD_RULE and fields["fleet.hosts"] == 3
    # which three depends on which batches the workers judged first: any three of the four
    assert set(str(fields["fleet.host_ids"]).split(",")) < {h.agent.host_id for h in hosts}
    assert lateral[1] == "host-3"
    assert "node-1 (host-1) connected to 10.77.0.3 of node-3 (host-3)" in lateral[2]
    assert all(row[3] is not None for row in fired), "each fleet alert is in an incident"


def test_fleet_alert_finished_after_worker_crash(
    tmp_path: Path, nats_server: NatsServer, postgres_url: str
) -> None:
    """A worker killed -9 right after storing a fleet alert, before its incident and the
    outputs: the next worker, given the batch again, finishes both, once each."""
    fleet = Fleet(tmp_path, nats_server, 1, 1, "postgresql", postgres_url)
    alerts_file = tmp_path / "alerts.txt"
    worker = fleet.workers[0]
    worker.args += ["-o", "file_output.enabled=true", "-o", f"file_output.filename={alerts_file}"]
    # the bus hands the dead worker's batch on after 2 s rather than 30
    worker.env = {"STOCKADE_CRASH_AT": "fleet-after-judge", "STOCKADE_NATS_ACK_WAIT_S": "2"}
    fleet.start()
    try:
        hosts = _enroll(fleet, tmp_path, 3)
        early = time.time_ns() - 60 * S
        for i, host in enumerate(hosts):
            host.send([], [host.alert(early + i * S, SPREAD_RULE)])
        assert worker.proc is not None
        worker.proc.wait(60)  # the third batch completes the spread: the worker dies there
        fired = fleet.rows("SELECT seq, incident_id FROM alerts WHERE agent_id = 'fleet'")
        assert len(fired) == 1 and fired[0][1] is None, fired  # stored, not grouped yet
        worker.env = {"STOCKADE_NATS_ACK_WAIT_S": "2"}
        worker.start()
        poll_until(
            lambda: not fleet.rows("SELECT seq FROM fleet_outbox"),
            60,
            "the next worker finished the fleet alert",
        )
        fired = fleet.rows("SELECT seq, incident_id FROM alerts WHERE agent_id = 'fleet'")
        assert len(fired) == 1 and fired[0][1] is not None, fired
        members = fleet.rows(f"SELECT count(*) FROM alerts WHERE incident_id = {fired[0][1]}")
        assert members[0][0] == 1
        lines = alerts_file.read_text().splitlines()
        assert sum("Same detection on many hosts" in line for line in lines) == 1, lines
    finally:
        fleet.stop()
