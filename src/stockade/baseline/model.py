"""Baseline policies as typed values: a policy, its checks, their tests, and results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Condition(enum.StrEnum):
    """How a check combines its tests' outcomes."""

    ALL = "all"
    ANY = "any"
    NONE = "none"


class Status(enum.StrEnum):
    """A check's result."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Test:
    """One test: a subject (`kind` + `target`) and what is expected of it (`expect`)."""

    kind: str  # file, sysctl, command, process, files
    target: tuple[str, ...]  # paths (globs), a sysctl key, argv, a process name, dirs
    expect: dict[str, object]
    where: str  # file:line:column, for messages


@dataclass(frozen=True, slots=True)
class Check:
    """One baseline control: tests, their condition, why, how to fix, and mappings."""

    id: str
    title: str
    condition: Condition
    tests: tuple[Test, ...]
    requires: tuple[Test, ...] = ()  # all must hold, else the check is not applicable
    rationale: str = ""
    remediation: str = ""
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """A named set of checks, applicable where `applies_to` (os-release fields) matches."""

    id: str
    name: str
    file: str
    checks: tuple[Check, ...]
    applies_to: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A check's status and the evidence that decided it."""

    policy_id: str
    check_id: str
    title: str
    status: Status
    evidence: str
    remediation: str
    compliance: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """All results of one policy on one host, and its score (passed / applicable, in %)."""

    policy_id: str
    policy_name: str
    results: tuple[CheckResult, ...]

    def count(self, status: Status) -> int:
        """How many checks ended with `status`."""
        return sum(1 for r in self.results if r.status is status)

    @property
    def score(self) -> float:
        """Percentage of applicable checks that passed (100 when none applies)."""
        passed, failed = self.count(Status.PASS), self.count(Status.FAIL)
        return 100.0 if passed + failed == 0 else round(100.0 * passed / (passed + failed), 1)
