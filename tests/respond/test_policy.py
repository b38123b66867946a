"""Response policies: matching, scope, decisions, repeats, and policy files' errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model import Alert, Container, Event, Process
from stockade.model.actions import ActionTarget
from stockade.respond.errors import PolicyError
from stockade.respond.policy import Decision, RepeatGuard, decide
from stockade.respond.policy_load import load_policies, parse_policies

CID = "ab" * 32
POLICIES = """
policies:
  - name: kill-reverse-shells
    match: {rules: ["Reverse shell*"], min_priority: Critical}
    scope: {images: ["localhost/*"], labels: {tier: web}}
    actions: [kill_container]
  - name: record-scans
    match: {correlation: true}
    actions: [isolate_container]
    allow: [10.88.0.1]
    dry_run: true
  - name: disabled-one
    enabled: false
    actions: [kill_process]
"""


def _alert(rule: str, priority: str = "Critical", fields: dict[str, object] | None = None) -> Alert:
    return Alert(
        uuid="u-1",
        output="x",
        priority=priority,
        rule=rule,
        time="2026-01-01T00:00:00.000000000Z",
        output_fields=fields or {},
        hostname="node-1",
    )


def _event(image: str = "localhost/app:1", labels: dict[str, str] | None = None) -> Event:
    container = Container(id=CID, image=image, labels=labels or {"tier": "web"})
    proc = Process(pid=42, name="bash", exepath="/usr/bin/bash")
    return Event(type="execve", ts=1, proc=proc, container=container)


@pytest.mark.parametrize(
    ("alert", "event", "chosen"),
    [
        (_alert("Reverse shell or netcat execution"), _event(), ["kill_container"]),
        (_alert("Reverse shell or netcat execution", "Warning"), _event(), []),
        (_alert("Reverse shell or netcat execution"), _event("docker.io/app"), []),
        (_alert("Reverse shell or netcat execution"), _event(labels={"tier": "db"}), []),
        (_alert("Port scan", fields={"corr.count": 20}), _event(), ["isolate_container"]),
        (_alert("Terminal shell in container"), _event(), []),
    ],
    ids=["match", "too-mild", "other-image", "other-label", "correlation", "other-rule"],
)
def test_decisions(alert: Alert, event: Event, chosen: list[str]) -> None:
    decisions = decide(parse_policies(POLICIES, "test.yaml"), alert, event)
    assert [d.action for d in decisions] == chosen
    for d in decisions:
        allow = ("10.88.0.1",) if d.action == "isolate_container" else ()
        assert d.target == ActionTarget(container_id=CID, pid=42, path="/usr/bin/bash", allow=allow)
        assert d.dry_run == (d.policy == "record-scans")


def test_host_processes_are_out_of_scope_unless_asked() -> None:
    text = "policies: [{name: p, actions: [kill_process], scope: {containers_only: false}}]"
    host_event = Event(type="execve", ts=1, proc=Process(pid=9, name="x"))
    policies = parse_policies(text, "t.yaml")
    assert [d.target.pid for d in decide(policies, _alert("any"), host_event)] == [9]
    strict = parse_policies("policies: [{name: p, actions: [kill_process]}]", "t.yaml")
    assert decide(strict, _alert("any"), host_event) == []


def test_a_top_level_dry_run_makes_every_policy_dry() -> None:
    policies = parse_policies("dry_run: true\n" + POLICIES, "t.yaml")
    assert all(p.dry_run for p in policies)


def test_repeat_guard_lets_one_through_per_container_and_window() -> None:
    now = [0.0]
    guard = RepeatGuard(window_s=60, clock=lambda: now[0])
    first = Decision("p", "kill_container", ActionTarget(container_id=CID, pid=1), False)
    other_process = Decision("p", "kill_container", ActionTarget(container_id=CID, pid=2), False)
    assert guard.admit(first) and not guard.admit(other_process)
    now[0] = 61.0
    assert guard.admit(other_process)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("policies: [{name: a}]", "Object missing required field `actions`"),
        ("policies: [{name: a, actions: [explode]}]", "unknown response action 'explode'"),
        ("policies: [{name: a, actions: [kill_process], when: x}]", "unknown field `when`"),
        (
            "policies: [{name: a, actions: [kill_process], match: {min_priority: loud}}]",
            "match.min_priority: unknown priority 'loud'",
        ),
        (
            "policies: [{name: a, actions: [kill_process]}, {name: a, actions: [kill_process]}]",
            "name used twice",
        ),
        ("policies: [{name: a, actions: []}]", "no actions"),
        ("policies: [{name: a, actions: [isolate_container], allow: [x]}]", "allow: 'x' is not"),
        ("policies: [", "line 2, column 1"),
    ],
    ids=[
        "no-actions",
        "unknown-action",
        "unknown-field",
        "priority",
        "twice",
        "empty",
        "allow",
        "yaml",
    ],
)
def test_policy_file_errors_say_what_and_where(text: str, error: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policies(text, "p.yaml")
    message = str(refused.value)
    assert message.startswith("policy file p.yaml") and "\n" not in message
    assert error.lower() in message.lower()


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read policy file .*nope.yaml"):
        load_policies((tmp_path / "nope.yaml",))


SCOPED = """
policies:
  - name: by-tag-host-namespace
    match: {tags: [mitre_execution, shell]}
    scope: {hosts: ["node-*", "host-id-7"], namespaces: ["prod-*"]}
    actions: [kill_process]
"""


@pytest.mark.parametrize(
    ("tags", "hostname", "host_id", "namespace", "chosen"),
    [
        (["shell"], "node-1", "", "prod-eu", ["kill_process"]),
        (["network"], "node-1", "", "prod-eu", []),  # no tag in common
        ([], "node-1", "", "prod-eu", []),  # an alert without tags
        (["shell"], "build-1", "", "prod-eu", []),  # another host
        (["shell"], "build-1", "host-id-7", "prod-eu", ["kill_process"]),  # by host id
        (["shell"], "node-1", "", "staging", []),  # another namespace
        (["shell"], "node-1", "", "", []),  # not in Kubernetes: no namespace to match
    ],
    ids=["match", "other-tag", "no-tags", "other-host", "host-id", "other-ns", "no-ns"],
)
def test_tags_hosts_and_namespaces_decide(
    tags: list[str], hostname: str, host_id: str, namespace: str, chosen: list[str]
) -> None:
    alert = _alert("Terminal shell in container")
    alert.tags, alert.hostname, alert.host_id = tags, hostname, host_id
    container = Container(id=CID, image="localhost/app:1", pod_namespace=namespace)
    event = Event(type="execve", ts=1, proc=Process(pid=42, name="bash"), container=container)
    decisions = decide(parse_policies(SCOPED, "test.yaml"), alert, event)
    assert [d.action for d in decisions] == chosen
