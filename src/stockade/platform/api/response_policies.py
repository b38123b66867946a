"""User API for the response policies pushed to every agent: read them, replace them.

Every user may read; replacing needs the analyst role or higher. Agents fetch a new
document within a second (their long poll is woken) and judge alerts by it together with
their local policy files.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from stockade.platform.api.actions import Responder
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.http_errors import error_responses
from stockade.platform.services.response_policies import MAX_POLICY_BYTES, PolicyRefused
from stockade.platform.store.sqlite_actions import PolicyDocument
from stockade.platform.timestamps import format_ns
from stockade.respond.policy import ResponsePolicy

router = APIRouter(prefix="/api/v1", tags=["actions"], dependencies=[Depends(current_user)])


class PolicyChange(BaseModel):
    """A new policy document (the YAML of a policy file)."""

    yaml: str = Field(max_length=MAX_POLICY_BYTES)


class PolicySummary(BaseModel):
    """One policy of the document."""

    name: str
    actions: list[str]
    dry_run: bool
    enabled: bool


class PolicyView(BaseModel):
    """The pushed policy document."""

    yaml: str
    version: int = Field(description="0 until a document was pushed")
    updated_at: str | None
    updated_by: str
    policies: list[PolicySummary]


def policy_view(document: PolicyDocument, policies: list[ResponsePolicy]) -> PolicyView:
    """The document as the API shows it."""
    return PolicyView(
        yaml=document.yaml,
        version=document.version,
        updated_at=format_ns(document.updated_at) if document.version else None,
        updated_by=document.updated_by,
        policies=[
            PolicySummary(
                name=p.name, actions=list(p.actions), dry_run=p.dry_run, enabled=p.enabled
            )
            for p in policies
        ],
    )


@router.get("/policies", response_model=PolicyView)
async def policies(services: Services) -> PolicyView:
    """The response policies pushed to every agent."""
    return policy_view(*await services.policies.current())


@router.put("/policies", response_model=PolicyView, responses=error_responses(422))
async def replace_policies(body: PolicyChange, services: Services, user: Responder) -> PolicyView:
    """Replace the pushed policies; agents take them within a second."""
    try:
        return policy_view(*await services.policies.replace(body.yaml, user.username))
    except PolicyRefused as e:
        raise HTTPException(422, str(e)) from e
