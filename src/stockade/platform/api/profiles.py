"""User API for workload groups and their profiles: modes, versions, YAML export and import.

GET /api/v1/groups, /groups/{id}; PUT /groups/{id}/mode (analyst or admin). GET
/api/v1/profiles, /profiles/{group} (`?version=N`), /profiles/{group}/versions,
/profiles/{group}/yaml (export); PUT /profiles/{group} (a YAML profile: edit or import,
stored as the next version; a group no agent reported yet is made). Agents take every
change within seconds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from stockade.platform.api.actions import Responder
from stockade.platform.api.deps import Services, current_user
from stockade.platform.api.http_errors import error_responses
from stockade.platform.services.profiles import (
    MAX_PROFILE_BYTES,
    GroupStatus,
    ProfileRefused,
    ProfileService,
    UnknownGroup,
)
from stockade.platform.store.profiles import ProfileVersion
from stockade.platform.timestamps import format_ns
from stockade.profiles.modes import Mode
from stockade.profiles.profile import from_yaml

router = APIRouter(prefix="/api/v1", tags=["profiles"], dependencies=[Depends(current_user)])


class GroupView(BaseModel):
    """A workload group: the modes it is in now, and whether a user or the policy chose them."""

    id: str
    name: str
    first_seen: str
    process_mode: Mode
    network_mode: Mode
    process_mode_set: bool = Field(description="a user chose it (else the policy)")
    network_mode_set: bool
    profile_version: int = Field(description="0 until a profile is stored")
    updated_by: str


class ModeChange(BaseModel):
    """New modes; null gives the choice back to the policy (discover, then monitor)."""

    process: Mode | None = None
    network: Mode | None = None


class ProfileView(BaseModel):
    """One version of a group's profile: its lists by kind and its YAML."""

    group: str
    version: int
    created_at: str
    created_by: str
    items: dict[str, list[str]]
    yaml: str


class ProfileVersionView(BaseModel):
    """One version in a profile's history."""

    version: int
    created_at: str
    created_by: str


class ProfileChange(BaseModel):
    """A profile as YAML (as exported), stored as the group's next version."""

    yaml: str = Field(max_length=MAX_PROFILE_BYTES)


def group_view(status: GroupStatus) -> GroupView:
    """A group as the API shows it."""
    record = status.record
    return GroupView(
        id=record.id,
        name=record.name,
        first_seen=format_ns(record.first_seen),
        process_mode=status.modes.process,
        network_mode=status.modes.network,
        process_mode_set=record.process_mode is not None,
        network_mode_set=record.network_mode is not None,
        profile_version=status.profile_version,
        updated_by=record.updated_by,
    )


def profile_view(stored: ProfileVersion) -> ProfileView:
    """A stored profile version as the API shows it."""
    profile = from_yaml(stored.yaml, f"profile {stored.group_id} v{stored.version}")
    return ProfileView(
        group=stored.group_id,
        version=stored.version,
        created_at=format_ns(stored.created_at),
        created_by=stored.created_by,
        items={kind.value: values for kind, values in profile.items.items()},
        yaml=stored.yaml,
    )


def _service(services: Services) -> ProfileService:
    if services.profiles is None:
        raise HTTPException(404, "this platform keeps no profiles")
    return services.profiles


Profiles = Annotated[ProfileService, Depends(_service)]


@router.get("/groups", response_model=list[GroupView])
async def groups(profiles: Profiles) -> list[GroupView]:
    """Every workload group with its modes."""
    return [group_view(s) for s in await profiles.groups()]


@router.get("/groups/{group_id}", response_model=GroupView, responses=error_responses(404))
async def group(group_id: str, profiles: Profiles) -> GroupView:
    """One workload group with its modes."""
    try:
        return group_view(await profiles.group(group_id))
    except UnknownGroup as e:
        raise HTTPException(404, str(e)) from e


@router.put("/groups/{group_id}/mode", response_model=GroupView, responses=error_responses(404))
async def set_mode(
    group_id: str, body: ModeChange, profiles: Profiles, user: Responder
) -> GroupView:
    """Set a group's process and network modes (null: back to the policy)."""
    try:
        status = await profiles.set_modes(group_id, body.process, body.network, user.username)
    except UnknownGroup as e:
        raise HTTPException(404, str(e)) from e
    return group_view(status)


@router.get("/profiles", response_model=list[GroupView])
async def profiles_list(profiles: Profiles) -> list[GroupView]:
    """Every group with its profile's latest version (read one with /profiles/{group})."""
    return [group_view(s) for s in await profiles.groups() if s.profile_version]


@router.get("/profiles/{group_id}", response_model=ProfileView, responses=error_responses(404))
async def profile(
    group_id: str, profiles: Profiles, version: Annotated[int | None, Query(ge=1)] = None
) -> ProfileView:
    """A group's profile: the latest version, or `version`."""
    try:
        return profile_view(await profiles.profile(group_id, version))
    except UnknownGroup as e:
        raise HTTPException(404, str(e)) from e


@router.get(
    "/profiles/{group_id}/versions",
    response_model=list[ProfileVersionView],
    responses=error_responses(404),
)
async def versions(group_id: str, profiles: Profiles) -> list[ProfileVersionView]:
    """The versions of a group's profile, newest first."""
    try:
        found = await profiles.versions(group_id)
    except UnknownGroup as e:
        raise HTTPException(404, str(e)) from e
    return [
        ProfileVersionView(
            version=v.version, created_at=format_ns(v.created_at), created_by=v.created_by
        )
        for v in found
    ]


@router.get(
    "/profiles/{group_id}/yaml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}, **error_responses(404)},
)
async def export_yaml(
    group_id: str, profiles: Profiles, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """A group's profile as YAML (the latest version, or `version`), to edit or import."""
    try:
        stored = await profiles.profile(group_id, version)
    except UnknownGroup as e:
        raise HTTPException(404, str(e)) from e
    return Response(stored.yaml, media_type="application/yaml")


@router.put("/profiles/{group_id}", response_model=ProfileView, responses=error_responses(422))
async def replace(
    group_id: str, body: ProfileChange, profiles: Profiles, user: Responder
) -> ProfileView:
    """Store an edited or imported YAML profile as the group's next version.

    A group no agent reported yet is made: `group_id` (and the YAML's `group`) is its id,
    or the `stockade.group` label value its containers will carry (the answer names the id).
    """
    try:
        return profile_view(await profiles.replace(group_id, body.yaml, user.username))
    except ProfileRefused as e:
        raise HTTPException(422, str(e)) from e
