"""User API for custom rules (tag `rules`): rule files with versions, single rules switched
on or off, the effective rule set, and which revision each agent loaded.

GET /api/v1/rules (effective set), /rules/files, /rules/files/{name} (`?version=N`),
/rules/files/{name}/versions, /rules/agents; PUT /rules/files/{name}, DELETE
/rules/files/{name}, PUT /rules/enabled (analyst or admin). A file is compiled with the
default and the other custom rules before it is stored: a failing one is a 422 naming
file:line:column, and nothing is stored. Agents take every change within seconds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from stockade.platform.api.actions import Responder
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.http_errors import error_responses, hinted_pattern
from stockade.platform.services import PlatformServices
from stockade.platform.services.custom_rules import (
    MAX_RULE_FILE_BYTES,
    RuleService,
    RulesRefused,
    UnknownRuleFile,
)
from stockade.platform.store.sql import Database
from stockade.platform.store.sqlite_rules import RuleFileVersion, SqliteRuleStore
from stockade.platform.timestamps import format_ns
from stockade.rules.custom import FILE_NAME, FILE_NAME_HINT

router = APIRouter(prefix="/api/v1", tags=["rules"], dependencies=[Depends(current_user)])
FileName = Annotated[
    str,
    Path(
        max_length=120,
        pattern=hinted_pattern(FILE_NAME.pattern, FILE_NAME_HINT),
        description="the rule file's name (*.yaml)",
    ),
]


class RuleFileView(BaseModel):
    """One version of a custom rule file: who stored it, when, its content's sha256."""

    name: str
    version: int
    sha256: str
    deleted: bool
    created_at: str
    created_by: str
    content: str | None = Field(None, description="the YAML (only when one file is asked for)")


class RuleFileBody(BaseModel):
    """A rule file's YAML (Falco rule language: lists, macros, rules, append, override)."""

    content: str = Field(max_length=MAX_RULE_FILE_BYTES)


class RuleSwitch(BaseModel):
    """Switch one rule (default or custom) on or off by name; null drops the switch."""

    rule: str = Field(min_length=1, max_length=400)
    enabled: bool | None


class EffectiveRule(BaseModel):
    """A rule of the effective set and where it comes from."""

    name: str
    source: str = Field(description="'default' or the custom file that defines it")
    file: str
    enabled: bool
    switched: bool | None = Field(description="a user's switch (null: the files decide)")
    priority: str
    tags: list[str]


class EffectiveRules(BaseModel):
    """The default and custom rules as agents load them, at one revision."""

    revision: int
    sha256: str
    rules: list[EffectiveRule]


class AgentRulesView(BaseModel):
    """The custom rules revision an agent last reported loading, or why it kept its own."""

    agent_id: str
    revision: int
    sha256: str
    loaded: bool = Field(description="false: the agent refused it and kept its previous rules")
    error: str
    rules: int = Field(description="rules enabled on the agent after that load")
    reported_at: str


def rule_service(services: PlatformServices) -> RuleService:
    """The platform's custom rules; 501 where the store keeps none."""
    if not isinstance(services.store, Database):
        raise HTTPException(501, "this store keeps no custom rules")
    return RuleService(SqliteRuleStore(services.store), services.runner)


def _rules(services: Services) -> RuleService:
    return rule_service(services)


Rules = Annotated[RuleService, Depends(_rules)]


def _view(found: RuleFileVersion, content: bool = False) -> RuleFileView:
    return RuleFileView(
        name=found.name,
        version=found.version,
        sha256=found.sha256,
        deleted=found.deleted,
        created_at=format_ns(found.created_at),
        created_by=found.created_by,
        content=found.content if content else None,
    )


@router.get("/rules", response_model=EffectiveRules)
async def effective(rules: Rules) -> EffectiveRules:
    """Every rule agents run: the defaults and the custom files, with each rule's source."""
    found = await rules.effective()
    return EffectiveRules(
        revision=found.revision,
        sha256=found.sha256,
        rules=[
            EffectiveRule(
                name=r.name,
                source=r.file if r.file in found.custom_files else "default",
                file=r.file.rsplit("/", 1)[-1],
                enabled=r.enabled,
                switched=found.toggles.get(r.name),
                priority=r.priority.name,
                tags=list(r.tags),
            )
            for r in found.ruleset.rules
        ],
    )


@router.get("/rules/files", response_model=list[RuleFileView])
async def files(rules: Rules) -> list[RuleFileView]:
    """Every custom rule file's latest version (without its content)."""
    return [_view(f) for f in await rules.files()]


@router.get("/rules/files/{name}", response_model=RuleFileView, responses=error_responses(404))
async def file(
    name: FileName, rules: Rules, version: Annotated[int | None, Query(ge=1)] = None
) -> RuleFileView:
    """One custom rule file with its YAML: the latest version, or `version`."""
    try:
        return _view(await rules.file(name, version), content=True)
    except UnknownRuleFile as e:
        raise HTTPException(404, str(e)) from e


@router.get(
    "/rules/files/{name}/versions",
    response_model=list[RuleFileView],
    responses=error_responses(404),
)
async def versions(name: FileName, rules: Rules) -> list[RuleFileView]:
    """Every version of a rule file (deletions too), newest first."""
    try:
        return [_view(v) for v in await rules.versions(name)]
    except UnknownRuleFile as e:
        raise HTTPException(404, str(e)) from e


@router.put("/rules/files/{name}", response_model=RuleFileView, responses=error_responses(422))
async def put_file(
    name: FileName, body: RuleFileBody, rules: Rules, user: Responder
) -> RuleFileView:
    """Create or replace a rule file (its next version), compiled first; 422 naming
    file:line:column when it does not load, and then nothing is stored."""
    try:
        version = await rules.put(name, body.content, user.username)
        return _view(await rules.file(name, version), content=True)
    except RulesRefused as e:
        raise HTTPException(422, str(e)) from e


@router.delete("/rules/files/{name}", status_code=204, responses=error_responses(404, 409))
async def delete_file(name: FileName, rules: Rules, user: Responder) -> None:
    """Delete a rule file (kept in its versions); 409 when other custom files need it."""
    try:
        await rules.delete(name, user.username)
    except UnknownRuleFile as e:
        raise HTTPException(404, str(e)) from e
    except RulesRefused as e:
        raise HTTPException(409, f"other rule files need {name}: {e}") from e


@router.put("/rules/enabled", status_code=204, responses=error_responses(404, 422))
async def switch(body: RuleSwitch, rules: Rules, user: Responder) -> None:
    """Switch one rule on or off by name (an override agents load after every file)."""
    try:
        await rules.set_enabled(body.rule, body.enabled, user.username)
    except UnknownRuleFile as e:
        raise HTTPException(404, str(e)) from e
    except RulesRefused as e:
        raise HTTPException(422, str(e)) from e


@router.get("/rules/agents", response_model=list[AgentRulesView])
async def agents(rules: Rules) -> list[AgentRulesView]:
    """Per agent, the custom rules revision it loaded (or refused, and why)."""
    return [
        AgentRulesView(
            agent_id=a.agent_id,
            revision=a.revision,
            sha256=a.sha256,
            loaded=not a.error,
            error=a.error,
            rules=a.rules,
            reported_at=format_ns(a.reported_at),
        )
        for a in await rules.loads()
    ]
