"""The agent's responder: policies judged where alerts are made, actions run on one thread.

`offer(alert, event)` is called by the pipeline for every alert as it is produced (before
aggregation), so a policy's action starts within the same poll of the sensor. Orders from
users arrive through `order`. Every action is written to the journal before it runs (an
order) or once it ended (a policy's), and its record is reported to the platform.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence

from stockade.agent.action_journal import ActionJournal
from stockade.model import Alert, Event
from stockade.model.actions import (
    ActionOrder,
    ActionRecord,
    ActionResult,
    ActionStatus,
    Trigger,
)
from stockade.respond.base import ActionContext, perform
from stockade.respond.policy import Decision, RepeatGuard, ResponsePolicy, decide

log = logging.getLogger(__name__)


class Responder:
    """Runs the actions policies and users ask for on this host, one at a time, in order."""

    def __init__(
        self,
        journal: ActionJournal,
        context: ActionContext,
        policies: Sequence[ResponsePolicy] = (),
        agent_id: str = "",
        host_id: str = "",
    ) -> None:
        self.journal = journal
        self.context = context
        self.local_policies = tuple(policies)
        self.policies = self.local_policies  # replaced whole (atomically) by pushed ones
        self.agent_id = agent_id
        self.host_id = host_id
        self._guard = RepeatGuard()
        self._queue: queue.SimpleQueue[ActionRecord | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="stockade-respond", daemon=True)
        self._thread.start()

    def set_pushed(self, pushed: Sequence[ResponsePolicy]) -> None:
        """Judge alerts by the local policy files plus these, from the platform, from now on."""
        self.policies = self.local_policies + tuple(pushed)

    def offer(self, alert: Alert, event: Event) -> None:
        """Judge one alert against the policies; queue (or, dry-run, record) what they choose."""
        if not self.policies:
            return
        for decision in decide(self.policies, alert, event):
            if self._guard.admit(decision):
                self._start(self._record_for(decision, alert))

    def _record_for(self, decision: Decision, alert: Alert) -> ActionRecord:
        record = ActionRecord(
            id=str(uuid.uuid4()),
            action=decision.action,
            target=decision.target,
            trigger=Trigger(
                kind="policy", policy=decision.policy, alert_id=alert.uuid, rule=alert.rule
            ),
            agent_id=self.agent_id,
            host_id=self.host_id,
            requested_at=time.time_ns(),
        )
        if decision.dry_run:
            dry = ActionResult(status=ActionStatus.DRY_RUN, detail="dry run: not done")
            return record.ended(dry, record.requested_at)
        return record

    def order(self, order: ActionOrder) -> bool:
        """Run a user's order unless it ran here already; True when it was queued now."""
        if self.journal.has(order.id):
            return False
        record = ActionRecord(
            id=order.id,
            action=order.action,
            target=order.target,
            trigger=order.trigger,
            agent_id=self.agent_id,
            host_id=self.host_id,
            requested_at=order.requested_at,
        )
        self.journal.write(record)  # on disk before it runs: never run twice
        self._queue.put(record)
        return True

    def _start(self, record: ActionRecord) -> None:
        if record.status == ActionStatus.DRY_RUN:
            log.info("dry run: policy %s would %s", record.trigger.policy, record.action)
            self.journal.write(record)
        else:
            self._queue.put(record)

    def _work(self) -> None:
        while (record := self._queue.get()) is not None:
            result = perform(record.action, record.target, self.context)
            ended = record.ended(result, time.time_ns())
            self.journal.write(ended)
            if result.status == ActionStatus.FAILED:
                log.warning("%s on %s failed: %s", record.action, record.target, result.error)
            else:
                log.info("%s: %s", record.action, result.detail)

    def close(self) -> None:
        """Finish the queued actions, then stop (blocked executables are allowed again)."""
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.context.close()
