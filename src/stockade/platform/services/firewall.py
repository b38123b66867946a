"""The container firewall on the platform: flows agents report, allow rules, NetworkPolicy.

Flows to or from groups still learning (in discover) become learned rules as they arrive; users
add and remove rules by hand. Agents fetch the rules to judge and enforce.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from stockade.firewall.allowlist import AllowRule, check_rule, learn, learnable
from stockade.firewall.flows import Flow, FlowReport
from stockade.firewall.networkpolicy import network_policies, to_yaml
from stockade.platform.errors import PlatformError
from stockade.platform.store.group_selectors import GroupSelectorStore
from stockade.platform.store.runner import StoreRunner

MAX_FLOWS_PER_REPORT = 10_000


class FirewallRefused(PlatformError):
    """A rule or report cannot be taken; the message says what and where."""


class FirewallStore(Protocol):
    """Where flows and rules are kept."""

    def add_flows(self, flows: Iterable[Flow], violations: Iterable[bool]) -> int: ...
    def flows(self, group: str | None = None, limit: int = 5000) -> list[tuple[Flow, int]]: ...
    def put_rules(self, rules: Iterable[AllowRule], created_at: int, created_by: str) -> int: ...
    def rules(self) -> list[tuple[AllowRule, int, str]]: ...
    def delete_rule(self, rule_id: str) -> bool: ...


class FirewallService:
    """Reads and changes the firewall's flows and rules."""

    def __init__(
        self,
        store: FirewallStore,
        runner: StoreRunner,
        selectors: GroupSelectorStore | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._selectors = selectors

    async def report(self, agent_id: str, report: FlowReport) -> int:
        """Store an agent's flows; those to or from learning groups become learned rules."""
        if len(report.flows) > MAX_FLOWS_PER_REPORT:
            raise FirewallRefused(f"flows: more than {MAX_FLOWS_PER_REPORT} in one report")
        violations = report.violations or [False] * len(report.flows)
        if len(violations) != len(report.flows):
            raise FirewallRefused("violations: one entry per flow is needed")
        for i, flow in enumerate(report.flows):
            try:
                check_rule(AllowRule(src=flow.src, dst=flow.dst, src_kind=flow.src_kind,
                                     dst_kind=flow.dst_kind, port=flow.port,
                                     protocol=flow.protocol), f"flows[{i}]")  # fmt: skip
            except ValueError as e:
                raise FirewallRefused(str(e)) from e
        learned = learn(learnable(report.flows, report.learning))
        stored = await self._runner.write(self._store.add_flows, report.flows, violations)
        if learned:
            await self._runner.write(self._store.put_rules, learned, time.time_ns(), agent_id)
        return stored

    async def flows(self, group: str | None = None) -> list[tuple[Flow, int]]:
        """Stored flows with their violation counts."""
        return await self._runner.read(self._store.flows, group)

    async def rules(self) -> list[tuple[AllowRule, int, str]]:
        """Every rule with when and by whom it was made."""
        return await self._runner.read(self._store.rules)

    async def rules_for_agent(self) -> list[AllowRule]:
        """Every rule, read on the agents' own reader thread."""
        return [r for r, _, _ in await self._runner.read_for_agent(self._store.rules)]

    async def add_rule(self, rule: AllowRule, username: str) -> AllowRule:
        """Add a user's rule (checked); FirewallRefused naming what is wrong."""
        try:
            check_rule(rule, "rule")
        except ValueError as e:
            raise FirewallRefused(str(e)) from e
        await self._runner.write(self._store.put_rules, [rule], time.time_ns(), username)
        return rule

    async def delete_rule(self, rule_id: str) -> bool:
        """Remove a rule by id; False if none had it."""
        return await self._runner.write(self._store.delete_rule, rule_id)

    async def network_policies_yaml(self) -> str:
        """Every group's NetworkPolicy (pods selected as their groups' sightings say), as YAML."""
        rules = [r for r, _, _ in await self.rules()]
        selectors = await self._runner.read(self._selectors.selectors) if self._selectors else {}
        return to_yaml(*network_policies(rules, selectors))
