"""Response policies: which alerts, where, lead to which actions (pure: values in, values out).

A policy matches an alert by rule name, tags, priority and whether it is a correlation's
result, and is scoped by host, container image, labels and Kubernetes namespace. Each
matching policy yields one decision per action, aimed at the alert's container, process
and executable. `RepeatGuard` keeps one alert storm from repeating the same action.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from stockade.model import Alert, Event, Priority
from stockade.model.actions import ActionTarget
from stockade.model.entities import HOST_CONTAINER_ID

CORRELATION_FIELD = "corr.count"  # every correlation alert carries it


class PolicyMatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which alerts: every given test must hold (a list holds when any of it does)."""

    rules: tuple[str, ...] = ()  # rule names, shell-style patterns
    tags: tuple[str, ...] = ()
    min_priority: str = ""  # this or more severe (Falco's names)
    correlation: bool | None = None  # True: correlation results only; False: never


class PolicyScope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where: every given test must hold; patterns are shell-style."""

    hosts: tuple[str, ...] = ()  # hostname or host id
    images: tuple[str, ...] = ()  # image reference as the container was started
    labels: dict[str, str] = msgspec.field(default_factory=dict)  # container labels
    namespaces: tuple[str, ...] = ()  # Kubernetes namespaces
    containers_only: bool = True  # False: host processes too


class ResponsePolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One policy: match, scope, the actions to take, and whether only to record them."""

    name: str
    actions: tuple[str, ...]
    match: PolicyMatch = PolicyMatch()
    scope: PolicyScope = PolicyScope()
    dry_run: bool = False
    enabled: bool = True
    allow: tuple[str, ...] = ()  # isolate_container: addresses (or CIDRs) still allowed


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's choice of one action on one target, for one alert."""

    policy: str
    action: str
    target: ActionTarget
    dry_run: bool


def _any(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def matches(match: PolicyMatch, alert: Alert) -> bool:
    """True when the alert passes every test of `match`."""
    if match.rules and not _any(match.rules, alert.rule):
        return False
    if match.tags and not set(match.tags) & set(alert.tags):
        return False
    if match.min_priority:
        try:
            if Priority.parse(alert.priority) > Priority.parse(match.min_priority):
                return False
        except ValueError:
            return False
    is_correlation = CORRELATION_FIELD in alert.output_fields
    return match.correlation is None or match.correlation == is_correlation


def in_scope(scope: PolicyScope, alert: Alert, event: Event) -> bool:
    """True when the alert's host and container are within `scope`."""
    container = event.container
    on_host = container.id in ("", HOST_CONTAINER_ID)
    if on_host and scope.containers_only:
        return False
    if scope.hosts and not (_any(scope.hosts, alert.hostname) or _any(scope.hosts, alert.host_id)):
        return False
    if scope.images and not _any(scope.images, container.image):
        return False
    if scope.namespaces and not _any(scope.namespaces, container.pod_namespace):
        return False
    labels = {**container.pod_labels, **container.labels}
    return all(
        key in labels and fnmatch.fnmatchcase(labels[key], pattern)
        for key, pattern in scope.labels.items()
    )


def target_of(event: Event) -> ActionTarget:
    """What an alert's event points at: its container, process and executable."""
    container_id = "" if event.container.id in ("", HOST_CONTAINER_ID) else event.container.id
    return ActionTarget(container_id=container_id, pid=event.proc.pid, path=event.proc.exepath)


def decide(policies: Iterable[ResponsePolicy], alert: Alert, event: Event) -> list[Decision]:
    """Every action the enabled policies choose for this alert, in policy order."""
    chosen: list[Decision] = []
    for policy in policies:
        if policy.enabled and matches(policy.match, alert) and in_scope(policy.scope, alert, event):
            target = msgspec.structs.replace(target_of(event), allow=policy.allow)
            chosen += [Decision(policy.name, a, target, policy.dry_run) for a in policy.actions]
    return chosen


class RepeatGuard:
    """Lets the same policy, action and target through once per window (clock injected)."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._window_s = window_s
        self._clock = clock
        self._last: dict[tuple[str, str, ActionTarget], float] = {}

    def admit(self, decision: Decision) -> bool:
        """True the first time within the window; False for a repeat."""
        now = self._clock()
        if len(self._last) > 10_000:  # forget the expired, so a long run stays bounded
            self._last = {k: t for k, t in self._last.items() if now - t < self._window_s}
        key = (decision.policy, decision.action, _key_target(decision))
        last = self._last.get(key)
        if last is not None and now - last < self._window_s:
            return False
        self._last[key] = now
        return True


def _key_target(decision: Decision) -> ActionTarget:
    """A container action's key is the container alone (any of its processes is a repeat)."""
    target = decision.target
    if decision.action.endswith("_host"):
        return ActionTarget()
    if decision.action.endswith("_container"):
        return ActionTarget(container_id=target.container_id)
    return target
