"""Profile messages between agent and platform: what the agent learned, what it is pushed."""

from __future__ import annotations

from typing import Annotated

import msgspec

from stockade.profiles.modes import GroupState, ModePolicy
from stockade.profiles.profile import Behaviour, Profile
from stockade.profiles.selectors import PodSelector


class LearnedGroup(msgspec.Struct, frozen=True, kw_only=True):
    """What an agent learned of one group since it last reported."""

    id: str
    name: str
    # a time in ns since the epoch: bounded, as the store keeps it in a signed 64-bit integer
    first_seen_ns: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    behaviours: list[Behaviour] = msgspec.field(default_factory=list)
    selector: PodSelector | None = None  # the pods it is, as a container of it shows


class LearnedReport(msgspec.Struct, frozen=True, kw_only=True):
    """An agent's learned behaviour, by group (`POST /api/v1/agent/profiles`)."""

    groups: list[LearnedGroup]


class PushedGroup(msgspec.Struct, frozen=True, kw_only=True):
    """One group as the platform has it: its first sighting, user-set modes and profile."""

    state: GroupState
    profile: Profile


class ProfilePush(msgspec.Struct, frozen=True, kw_only=True):
    """Every group's profile and modes (`GET /api/v1/agent/profiles`), at one revision."""

    revision: int
    policy: ModePolicy
    groups: list[PushedGroup] = msgspec.field(default_factory=list)
