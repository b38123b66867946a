"""The firewall's flows and rules and the groups' pod selectors in the store, SQLite and
PostgreSQL alike: flows merged by key (also when several platform processes add the same
flow at once), rules kept once by id, selectors narrowed to what every sighting shares."""

from __future__ import annotations

import functools

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import Flow
from stockade.platform.backends import open_firewall_store, open_group_selectors
from stockade.profiles.selectors import PodSelector
from tests.support.stores import StoreOpener
from tests.support.together import run_together


def _flow(port: int, first: int, last: int, count: int = 1, dst: str = "web-1") -> Flow:
    return Flow(src="client-1", dst=dst, port=port, protocol="tcp", count=count,
                first_ns=first, last_ns=last)  # fmt: skip


def test_flows_merge_by_key_and_filter_by_group(open_store: StoreOpener) -> None:
    firewall = open_firewall_store(open_store())
    assert firewall.add_flows([_flow(80, 10, 20, 2), _flow(53, 5, 5, dst="dns-1")], [False, True])
    firewall.add_flows([_flow(80, 5, 15, 3)], [True])
    by_port = {f.port: (f, bad) for f, bad in firewall.flows()}
    merged, violations = by_port[80]
    assert (merged.count, merged.first_ns, merged.last_ns, violations) == (5, 5, 20, 1)
    assert [f.dst for f, _ in firewall.flows("dns-1")] == ["dns-1"]
    assert len(firewall.flows(limit=1)) == 1


def test_processes_adding_one_flow_at_once_add_up(open_store: StoreOpener) -> None:
    firewalls = [open_firewall_store(open_store()) for _ in range(3)]

    def add(n: int) -> None:
        for i in range(10):
            firewalls[n].add_flows([_flow(443, 100 - n * 10 - i, 100 + n * 10 + i)], [False])

    run_together(functools.partial(add, n) for n in range(3))
    [(flow, violations)] = firewalls[0].flows()
    assert (flow.count, flow.first_ns, flow.last_ns, violations) == (30, 71, 129, 0)


def test_rules_are_kept_once_and_deleted_by_id(open_store: StoreOpener) -> None:
    firewall = open_firewall_store(open_store())
    learned = AllowRule(src="client-1", dst="web-1", port=80)
    user = AllowRule(src="client-1", dst="db-1", port=5432, origin="user")
    assert firewall.put_rules([learned, user], 7, "agent a1") == 2
    assert firewall.put_rules([learned], 8, "alice") == 0  # already there: kept as it was
    assert firewall.rules() == [(user, 7, "agent a1"), (learned, 7, "agent a1")]
    assert firewall.delete_rule(learned.id) and not firewall.delete_rule(learned.id)
    assert [r for r, _, _ in firewall.rules()] == [user]


def test_selectors_keep_what_every_sighting_shares(open_store: StoreOpener) -> None:
    selectors = open_group_selectors(open_store())
    assert selectors is not None
    selectors.merge_selector("web-1", PodSelector(labels={"app": "web", "pod": "a"}))
    selectors.merge_selector("web-1", PodSelector(labels={"app": "web", "pod": "b"}))
    assert selectors.selectors() == {"web-1": PodSelector(labels={"app": "web"})}
