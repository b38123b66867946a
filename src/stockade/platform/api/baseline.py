"""User API for baseline checks: one host's current results (failing checks first) and
score history, and the fleet's summary (hosts with the most failures first)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from stockade.platform.api.deps import Services, current_user
from stockade.platform.store.sqlite_baseline import BaselineRun, BaselineStore
from stockade.platform.timestamps import format_ns

router = APIRouter(prefix="/api/v1", tags=["baseline"], dependencies=[Depends(current_user)])
_ORDER = {"fail": 0, "pass": 1, "not_applicable": 2}


class CheckView(BaseModel):
    """One check's result on the host."""

    check_id: str
    title: str
    status: str = Field(description="pass, fail or not_applicable")
    evidence: str
    remediation: str
    compliance: dict[str, list[str]] = Field(
        description="framework -> ids (cis, pci_dss, nist_800_53)"
    )


class RunSummary(BaseModel):
    """One policy's run: when, score, counts."""

    host_id: str
    policy_id: str
    policy_name: str
    ran_at: str
    score: float = Field(description="passed / applicable checks, in %")
    passed: int
    failed: int
    not_applicable: int


class PolicyView(RunSummary):
    """One policy's newest run on the host, its checks with failures first."""

    checks: list[CheckView]


class HostBaseline(BaseModel):
    """A host's current baseline results and their history."""

    host_id: str
    failed_checks: int
    policies: list[PolicyView]
    history: list[RunSummary] = Field(description="earlier runs too, newest first")


def _summary(run: BaselineRun) -> RunSummary:
    return RunSummary(
        host_id=run.host_id, policy_id=run.policy_id, policy_name=run.policy_name,
        ran_at=format_ns(run.ran_at), score=run.score, passed=run.passed,
        failed=run.failed, not_applicable=run.not_applicable,
    )  # fmt: skip


def _policy(run: BaselineRun) -> PolicyView:
    checks = sorted(run.checks, key=lambda c: (_ORDER.get(c.status, 3), c.check_id))
    return PolicyView(
        **_summary(run).model_dump(),
        checks=[
            CheckView(
                check_id=c.check_id, title=c.title, status=c.status, evidence=c.evidence,
                remediation=c.remediation, compliance=c.compliance,
            )
            for c in checks
        ],
    )  # fmt: skip


@router.get("/hosts/{host_id}/baseline", response_model=HostBaseline)
async def host_baseline(
    host_id: str,
    services: Services,
    history: Annotated[int, Query(ge=0, le=1000, description="earlier runs to list")] = 50,
) -> HostBaseline:
    """The host's newest result of each policy (failing checks first) and its history."""
    store = cast(BaselineStore, services.store)
    latest = await services.runner.read(store.latest_baseline, host_id)
    runs = await services.runner.read(store.baseline_history, host_id, history) if history else []
    return HostBaseline(
        host_id=host_id,
        failed_checks=sum(r.failed for r in latest),
        policies=[_policy(r) for r in latest],
        history=[_summary(r) for r in runs],
    )


@router.get("/baseline", response_model=list[RunSummary])
async def fleet_baseline(services: Services) -> list[RunSummary]:
    """Each host's newest run of each policy, the most failures first."""
    store = cast(BaselineStore, services.store)
    return [_summary(r) for r in await services.runner.read(store.fleet_baseline)]
