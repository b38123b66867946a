"""Response actions on the platform: users' orders, agents' long polls, the audit trail.

A user's order is stored pending, then handed to its agent by the agent's long poll
(`orders`), which wakes as soon as an order is stored. The agent reports the outcome
(`report`), and the record is replaced by it; policy actions the agent took on its own
arrive the same way. Waiters (`wait_ended`) wake when a record ends.

With several API nodes on one store the agent's poll and the user's request may be on
different nodes: each wake-up also goes out as a bus signal (`bus/signals.py`), so the
node holding the poll or the waiter wakes at once, whichever node stored the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from typing import Protocol, runtime_checkable

from stockade.model.actions import (
    ActionOrder,
    ActionRecord,
    ActionStatus,
    ActionTarget,
    OrdersAnswer,
    Trigger,
)
from stockade.platform.bus.base import BusError
from stockade.platform.bus.signals import LocalSignals, Signals
from stockade.platform.errors import PlatformConfigError, PlatformError
from stockade.platform.store import AgentRecord, Store
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite_actions import ActionQuery, PolicyDocument
from stockade.respond.base import RESPONSE_ACTIONS, check_target
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
MAX_WAIT_S = 30.0
ORDERS = "orders"  # signal: an agent (key; "" for every agent) has orders or new policies
ENDED = "action-ended"  # signal: an action (key) ended


class ActionRefused(PlatformError):
    """An order cannot be given (unknown action or agent, target incomplete); `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@runtime_checkable
class ActionStore(Protocol):
    """What the action trail needs from a store."""

    def save_action(self, record: ActionRecord) -> None:
        """Insert or replace a record by id."""

    def get_action(self, action_id: str) -> ActionRecord | None:
        """One record by id."""

    def pending_actions(self, agent_id: str) -> list[ActionRecord]:
        """An agent's orders not reported yet, oldest first."""

    def list_actions(self, query: ActionQuery) -> list[ActionRecord]:
        """The trail matching the query, newest first."""

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        """One enrolled agent."""

    def get_policies(self) -> PolicyDocument:
        """The policy document pushed to agents."""

    def put_policies(self, yaml: str, username: str, now: int) -> PolicyDocument:
        """Replace the pushed policy document."""


def action_store(store: Store) -> ActionStore:
    """The store as an action trail; PlatformConfigError for a store that has none."""
    if not isinstance(store, ActionStore):
        raise PlatformConfigError(f"store {type(store).__name__} cannot keep response actions")
    return store


class ActionService:
    """Orders to agents and the trail of every action, in one platform process."""

    def __init__(
        self, store: ActionStore, runner: StoreRunner, signals: Signals | None = None
    ) -> None:
        self._store = store
        self._runner = runner
        self._signals = signals or LocalSignals()
        self._orders_for: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._ended: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._closing = False

    async def listen(self) -> None:
        """Hear the other nodes' wake-ups from now on; BusError when the bus is out of reach."""
        await self._signals.listen(ORDERS, self._wake_agent)
        await self._signals.listen(ENDED, self._wake_waiter)

    def _wake_agent(self, agent_id: str) -> None:
        if not agent_id:
            self._wake_polls()
        elif (event := self._orders_for.get(agent_id)) is not None:
            event.set()  # only an agent polling here has an event; others are not made one

    def _wake_waiter(self, action_id: str) -> None:
        if (event := self._ended.pop(action_id, None)) is not None:
            event.set()

    async def _tell(self, topic: str, key: str) -> None:
        """Signal the other nodes; this one was woken directly. A lost signal only delays
        the wake-up there until the next poll, so a failure is logged, not raised."""
        try:
            await self._signals.signal(topic, key)
        except BusError as e:
            log.warning("cannot tell the other API nodes (%s %s): %s", topic, key, e)

    def close(self) -> None:
        """Answer every long poll and waiter now (the platform is stopping)."""
        self._closing = True
        for event in [*self._orders_for.values(), *self._ended.values()]:
            event.set()

    async def order(
        self, username: str, agent_id: str, action: str, target: ActionTarget
    ) -> ActionRecord:
        """Store a user's order for an agent and wake the agent's long poll."""
        if action not in RESPONSE_ACTIONS:
            raise ActionRefused(422, RESPONSE_ACTIONS.unknown(action))
        try:
            check_target(RESPONSE_ACTIONS.get(action), target)
        except RespondError as e:
            raise ActionRefused(422, str(e)) from e
        agent = await self._runner.read(self._store.get_agent, agent_id)
        if agent is None or agent.revoked_at is not None:
            raise ActionRefused(404, f"no enrolled agent {agent_id!r}")
        record = ActionRecord(
            id=str(uuid.uuid4()),
            action=action,
            target=target,
            trigger=Trigger(kind="user", user=username),
            agent_id=agent_id,
            host_id=agent.host_id,
            requested_at=time.time_ns(),
        )
        await self._runner.write(self._store.save_action, record)
        self._wake_agent(agent_id)
        await self._tell(ORDERS, agent_id)
        return record

    async def wake_all(self) -> None:
        """Answer every agent's long poll now, on every node (the pushed policies changed)."""
        self._wake_polls()
        await self._tell(ORDERS, "")

    def _wake_polls(self) -> None:
        for event in self._orders_for.values():
            event.set()

    async def orders(self, agent_id: str, wait_s: float) -> OrdersAnswer:
        """The agent's pending orders, waiting up to `wait_s` for one when there are none
        (or for new policies), with the pushed policies' version."""
        wake = self._orders_for[agent_id]
        wake.clear()  # cleared before reading: an order stored after the read sets it again
        known = (await self._runner.read_for_agent(self._store.get_policies)).version
        pending = await self._runner.read_for_agent(self._store.pending_actions, agent_id)
        if not pending and wait_s > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(wait_s, MAX_WAIT_S))
            pending = await self._runner.read_for_agent(self._store.pending_actions, agent_id)
            known = (await self._runner.read_for_agent(self._store.get_policies)).version
        return OrdersAnswer(orders=self._as_orders(pending), policy_version=known)

    @staticmethod
    def _as_orders(pending: list[ActionRecord]) -> list[ActionOrder]:
        return [
            ActionOrder(
                id=r.id,
                action=r.action,
                target=r.target,
                trigger=r.trigger,
                requested_at=r.requested_at,
            )
            for r in pending
        ]

    async def report(self, agent_id: str, host_id: str, records: list[ActionRecord]) -> int:
        """Store what the agent reports (its own orders' ends, its policies' actions)."""
        stored = 0
        for record in records:
            if record.status == ActionStatus.PENDING:
                continue  # only ends are reported
            known = await self._runner.read_for_agent(self._store.get_action, record.id)
            if known is not None and known.agent_id != agent_id:
                raise ActionRefused(403, f"action {record.id} was not ordered from {agent_id}")
            if known is not None and known.trigger.kind == "user":
                record.trigger = known.trigger  # the user's name is the platform's word
            elif record.trigger.kind != "policy":
                raise ActionRefused(
                    422, f"action {record.id}: only orders given here or policy actions are taken"
                )
            record.agent_id, record.host_id = agent_id, host_id
            await self._runner.write(self._store.save_action, record)
            stored += 1
            self._wake_waiter(record.id)
            await self._tell(ENDED, record.id)
        return stored

    async def get(self, action_id: str) -> ActionRecord | None:
        """One record."""
        return await self._runner.read(self._store.get_action, action_id)

    async def wait_ended(self, action_id: str, timeout_s: float) -> ActionRecord | None:
        """The record once it ended, or as it stands after `timeout_s`."""
        ended = self._ended[action_id]
        record = await self.get(action_id)
        if record is None or record.status != ActionStatus.PENDING or timeout_s <= 0:
            self._ended.pop(action_id, None)
            return record
        try:
            await asyncio.wait_for(ended.wait(), min(timeout_s, MAX_WAIT_S))
        except TimeoutError:
            self._ended.pop(action_id, None)
        return await self.get(action_id)

    async def trail(self, query: ActionQuery) -> list[ActionRecord]:
        """The audit trail, newest first."""
        return await self._runner.read(self._store.list_actions, query)
