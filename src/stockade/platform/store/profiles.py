"""The `ProfileStore` interface: workload groups and their profiles' versions, beside `Store`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A stored workload group: first sighting and the modes a user set (None: policy)."""

    id: str
    name: str
    first_seen: int
    process_mode: str | None
    network_mode: str | None
    updated_at: int
    updated_by: str


@dataclass(frozen=True, slots=True)
class ProfileVersion:
    """One stored version of a group's profile."""

    group_id: str
    version: int
    yaml: str
    created_at: int
    created_by: str


class ProfileStore(Protocol):
    """What the profile service asks of a store."""

    def groups(self) -> list[GroupRecord]:
        """Every group, by id."""
        ...

    def group(self, group_id: str) -> GroupRecord | None:
        """One group, or None."""
        ...

    def see_group(self, group_id: str, name: str, first_seen: int) -> bool:
        """Record a group the first time it is seen; True when it is new."""
        ...

    def set_modes(
        self, group_id: str, process: str | None, network: str | None, by: str, now: int
    ) -> None:
        """Set the modes a user chose (None: back to the policy)."""
        ...

    def latest_profile(self, group_id: str) -> ProfileVersion | None:
        """The newest version of the group's profile, or None."""
        ...

    def profile_version(self, group_id: str, version: int) -> ProfileVersion | None:
        """One version of the group's profile, or None."""
        ...

    def profile_versions(self, group_id: str) -> list[ProfileVersion]:
        """Every version of the group's profile, newest first (their YAML too)."""
        ...

    def add_profile(self, group_id: str, yaml: str, by: str, now: int) -> ProfileVersion:
        """Store a new version (the latest plus one) of the group's profile."""
        ...

    def add_profile_after(
        self, group_id: str, version: int, yaml: str, by: str, now: int
    ) -> ProfileVersion | None:
        """Store `yaml` as version `version + 1`; None when another writer took it first."""
        ...

    def revision(self) -> int:
        """The revision counter (0 before any change)."""
        ...
