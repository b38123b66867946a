"""User API for the container firewall: flows, allow rules, NetworkPolicy export.

GET    /api/v1/flows[?group=ID]         flows between groups (and outside addresses)
GET    /api/v1/firewall/rules           the allow rules, learned and set by users
POST   /api/v1/firewall/rules           add a rule (analyst or admin)
GET    /api/v1/firewall/rules/{id}      one rule
PUT    /api/v1/firewall/rules/{id}      replace a rule (its id follows its content)
DELETE /api/v1/firewall/rules/{id}      remove a rule
GET    /api/v1/networkpolicies          the rules as Kubernetes NetworkPolicy YAML
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from stockade.firewall.allowlist import USER, AllowRule, allowed
from stockade.firewall.flows import Flow
from stockade.platform.api.actions import Responder
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.http_errors import error_responses
from stockade.platform.services.firewall import FirewallRefused
from stockade.platform.timestamps import format_ns

router = APIRouter(prefix="/api/v1", tags=["firewall"], dependencies=[Depends(current_user)])
Kind = Literal["group", "external"]
YAML_TYPE = "application/yaml"


class FlowView(BaseModel):
    """Connections of one source, destination, port and protocol."""

    src: str = Field(description="a group id, or an address when src_kind is external")
    src_kind: Kind
    dst: str
    dst_kind: Kind
    port: int
    protocol: str
    count: int
    first_seen: str
    last_seen: str
    violations: int = Field(description="connections an agent judged not allowed")
    allowed: bool = Field(description="whether a rule allows this flow now")


class FlowList(BaseModel):
    """The flow map's data: every flow, and the groups they name."""

    flows: list[FlowView]
    groups: list[str]


class RuleChange(BaseModel):
    """An allow rule: traffic from src to dst on port/protocol is allowed."""

    src: str = Field(min_length=1, max_length=256)
    src_kind: Kind = "group"
    dst: str = Field(min_length=1, max_length=256)
    dst_kind: Kind = "group"
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class RuleView(RuleChange):
    """A stored allow rule."""

    id: str
    origin: Literal["learned", "user"]
    created_at: str
    created_by: str


def _flow_view(flow: Flow, violations: int, rules: list[AllowRule]) -> FlowView:
    return FlowView(
        src=flow.src, src_kind=flow.src_kind, dst=flow.dst, dst_kind=flow.dst_kind,  # type: ignore[arg-type]
        port=flow.port, protocol=flow.protocol, count=flow.count,
        first_seen=format_ns(flow.first_ns), last_seen=format_ns(flow.last_ns),
        violations=violations, allowed=allowed(rules, flow),  # type: ignore[arg-type]
    )  # fmt: skip


def _rule_view(rule: AllowRule, created_at: int, created_by: str) -> RuleView:
    return RuleView(
        id=rule.id, src=rule.src, src_kind=rule.src_kind, dst=rule.dst, dst_kind=rule.dst_kind,  # type: ignore[arg-type]
        port=rule.port, protocol=rule.protocol, origin=rule.origin,  # type: ignore[arg-type]
        created_at=format_ns(created_at), created_by=created_by,
    )  # fmt: skip


def _rule(body: RuleChange) -> AllowRule:
    return AllowRule(
        src=body.src, src_kind=body.src_kind, dst=body.dst, dst_kind=body.dst_kind,
        port=body.port, protocol=body.protocol, origin=USER,
    )  # fmt: skip


@router.get("/flows", response_model=FlowList)
async def flows(
    services: Services, group: Annotated[str | None, Query(max_length=256)] = None
) -> FlowList:
    """Flows between groups (and outside addresses), each marked allowed or not."""
    rules = [r for r, _, _ in await services.firewall.rules()]
    found = await services.firewall.flows(group)
    groups = sorted(
        {v for f, _ in found for k, v in ((f.src_kind, f.src), (f.dst_kind, f.dst)) if k == "group"}
    )
    return FlowList(flows=[_flow_view(f, n, rules) for f, n in found], groups=groups)


@router.get("/firewall/rules", response_model=list[RuleView])
async def rules(services: Services) -> list[RuleView]:
    """Every allow rule, learned and set by users."""
    return [_rule_view(*row) for row in await services.firewall.rules()]


async def _find(services: Services, rule_id: str) -> RuleView:
    for row in await services.firewall.rules():
        if row[0].id == rule_id:
            return _rule_view(*row)
    raise HTTPException(404, f"no firewall rule {rule_id}")


@router.get("/firewall/rules/{rule_id}", response_model=RuleView, responses=error_responses(404))
async def rule(rule_id: str, services: Services) -> RuleView:
    """One allow rule."""
    return await _find(services, rule_id)


@router.post(
    "/firewall/rules", status_code=201, response_model=RuleView, responses=error_responses(422)
)
async def add_rule(body: RuleChange, services: Services, user: Responder) -> RuleView:
    """Add a rule; agents enforce it with their next rules fetch."""
    try:
        added = await services.firewall.add_rule(_rule(body), user.username)
    except FirewallRefused as e:
        raise HTTPException(422, str(e)) from e
    return await _find(services, added.id)


@router.put(
    "/firewall/rules/{rule_id}", response_model=RuleView, responses=error_responses(404, 422)
)
async def replace_rule(
    rule_id: str, body: RuleChange, services: Services, user: Responder
) -> RuleView:
    """Replace a rule by another (the new one has the id of its content)."""
    await _find(services, rule_id)
    try:
        added = await services.firewall.add_rule(_rule(body), user.username)
    except FirewallRefused as e:
        raise HTTPException(422, str(e)) from e
    if added.id != rule_id:
        await services.firewall.delete_rule(rule_id)
    return await _find(services, added.id)


@router.delete("/firewall/rules/{rule_id}", status_code=204, responses=error_responses(404))
async def delete_rule(rule_id: str, services: Services, user: Responder) -> Response:
    """Remove a rule."""
    del user
    if not await services.firewall.delete_rule(rule_id):
        raise HTTPException(404, f"no firewall rule {rule_id}")
    return Response(status_code=204)


_POLICY_LIST = {
    "type": "object",
    "required": ["apiVersion", "kind", "items"],
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "List"},
        "items": {"type": "array", "items": {"type": "object"}},
    },
}


@router.get(
    "/networkpolicies",
    response_class=Response,
    responses={
        200: {
            "description": "a v1 List of networking.k8s.io/v1 NetworkPolicy, one per group",
            "content": {YAML_TYPE: {"schema": _POLICY_LIST}},
        }
    },
)
async def network_policies(services: Services) -> Response:
    """The allow rules as Kubernetes NetworkPolicy YAML, one policy per group."""
    return Response(await services.firewall.network_policies_yaml(), media_type=YAML_TYPE)
