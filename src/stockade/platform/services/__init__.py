"""The platform's services: accounts, agents, audit, enrollment, incidents, ingest, metrics,
scans."""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.platform.services.accounts import AccountService
from stockade.platform.services.actions import ActionService
from stockade.platform.services.agents import AgentService
from stockade.platform.services.alerts import AlertService
from stockade.platform.services.audit import AuditService
from stockade.platform.services.enrollment import EnrollmentService
from stockade.platform.services.firewall import FirewallService
from stockade.platform.services.host_risk import HostRisk
from stockade.platform.services.incidents import IncidentService
from stockade.platform.services.ingest import IngestService
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.services.profiles import ProfileService
from stockade.platform.services.response_policies import PolicyService
from stockade.platform.services.scans import ScanService
from stockade.platform.store import Store
from stockade.platform.store.base import DEFAULT_QUERY_BUDGET_S
from stockade.platform.store.runner import StoreRunner


@dataclass(frozen=True, slots=True)
class PlatformServices:
    """Everything the HTTP layer calls into."""

    store: Store
    runner: StoreRunner
    accounts: AccountService
    agents: AgentService
    alerts: AlertService
    audit: AuditService
    enrollment: EnrollmentService
    incidents: IncidentService
    ingest: IngestService
    metrics: PlatformMetrics
    scans: ScanService
    actions: ActionService
    policies: PolicyService
    firewall: FirewallService
    profiles: ProfileService | None = None  # workload groups and profiles (SQLite stores)
    query_budget_s: float = DEFAULT_QUERY_BUDGET_S  # each user query stops past this
    host_risk: HostRisk = field(default_factory=lambda: HostRisk(None))  # vulnerable packages


__all__ = [
    "AccountService",
    "ActionService",
    "AgentService",
    "AlertService",
    "AuditService",
    "EnrollmentService",
    "FirewallService",
    "IncidentService",
    "IngestService",
    "PlatformMetrics",
    "PlatformServices",
    "PolicyService",
    "ScanService",
]
