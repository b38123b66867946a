"""The agent's responder on real processes: a policy's action runs, a dry-run one is only
recorded, a storm of alerts acts once, and every record lands in the journal."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.agent.action_journal import ActionJournal
from stockade.agent.responder import Responder
from stockade.model import Alert, Event, Process
from stockade.model.actions import ActionRecord, ActionStatus
from stockade.respond.base import ActionContext
from stockade.respond.policy_load import parse_policies
from tests.support.polling import poll_until

POLICY = """
policies:
  - name: kill-miners
    match: {rules: ["Miner*"]}
    scope: {containers_only: false}
    actions: [kill_process]
  - name: watch-shells
    match: {rules: ["Shell*"]}
    scope: {containers_only: false}
    actions: [kill_process]
    dry_run: true
"""


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[Responder]:
    """A responder with the policies above, its journal in tmp_path."""
    policies = parse_policies(POLICY, "test.yaml")
    running = Responder(
        ActionJournal(tmp_path / "journal"), ActionContext(tmp_path / "respond"), policies
    )
    yield running
    running.close()
    running.journal.close()


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A real process to act on."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def _offer(responder: Responder, rule: str, pid: int, uuid: str = "a-1") -> None:
    alert = Alert(uuid=uuid, output="x", priority="Critical", rule=rule, time="t", output_fields={})
    responder.offer(alert, Event(type="execve", ts=1, proc=Process(pid=pid, name="sleep")))


def _ended(responder: Responder) -> list[ActionRecord]:
    return poll_until(responder.journal.unreported, 30, "an ended action record")


def test_a_policy_kills_and_records_who_asked(
    responder: Responder, victim: subprocess.Popen[bytes]
) -> None:
    _offer(responder, "Miner detected", victim.pid)
    assert victim.wait(timeout=30) == -9
    [record] = _ended(responder)
    assert record.status == ActionStatus.DONE and record.action == "kill_process"
    assert (record.trigger.kind, record.trigger.policy, record.trigger.alert_id) == (
        "policy",
        "kill-miners",
        "a-1",
    )
    assert record.target.pid == victim.pid and record.completed_at >= record.requested_at


def test_dry_run_records_what_would_have_been_done(
    responder: Responder, victim: subprocess.Popen[bytes]
) -> None:
    _offer(responder, "Shell spawned", victim.pid)
    [record] = _ended(responder)
    assert record.status == ActionStatus.DRY_RUN and record.action == "kill_process"
    assert victim.poll() is None  # still running


def test_a_storm_of_alerts_acts_once(responder: Responder, victim: subprocess.Popen[bytes]) -> None:
    for n in range(20):
        _offer(responder, "Miner detected", victim.pid, uuid=f"a-{n}")
    victim.wait(timeout=30)
    assert [r.trigger.alert_id for r in _ended(responder)] == ["a-0"]


def test_unmatched_alerts_do_nothing(responder: Responder, victim: subprocess.Popen[bytes]) -> None:
    _offer(responder, "Something else", victim.pid)
    responder.close()  # the queue is drained: anything chosen would have run by now
    assert responder.journal.unreported() == [] and victim.poll() is None
