"""Baseline check results on the wire: what an agent reports of each policy it ran."""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

BASELINE_PATH = "/api/v1/agent/baseline"
CheckStatus = Literal["pass", "fail", "not_applicable"]
STATUSES: tuple[str, ...] = get_args(CheckStatus)


class CheckReport(msgspec.Struct, kw_only=True, frozen=True):
    """One check's outcome on one host."""

    check_id: str
    title: str
    status: CheckStatus
    evidence: str = ""
    remediation: str = ""
    compliance: dict[str, list[str]] = msgspec.field(default_factory=dict)


class PolicyReport(msgspec.Struct, kw_only=True, frozen=True):
    """All checks of one policy on one host, with its score (passed / applicable, %)."""

    policy_id: str
    policy_name: str
    score: float
    checks: list[CheckReport]


class BaselineReport(msgspec.Struct, kw_only=True, frozen=True):
    """One run of the baseline policies on a host."""

    host_id: str
    ran_at_ns: int
    policies: list[PolicyReport]
