"""Workload groups and behaviour profiles on the platform: learned from agents, versioned,
edited by users, and pushed back to every agent with the groups' modes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stockade.platform.errors import PlatformError
from stockade.platform.store.group_selectors import GroupSelectorStore
from stockade.platform.store.profiles import GroupRecord, ProfileStore, ProfileVersion
from stockade.platform.store.runner import StoreRunner
from stockade.profiles.groups import GroupId, is_group_id, label_group
from stockade.profiles.modes import GroupModes, GroupState, Mode, ModePolicy, effective_modes
from stockade.profiles.profile import Profile, ProfileFormatError, from_yaml, merged, to_yaml
from stockade.profiles.wire import LearnedGroup, LearnedReport, ProfilePush, PushedGroup

MAX_PROFILE_BYTES = 4 * 1024 * 1024


class ProfileRefused(PlatformError):
    """A profile or mode change cannot be taken; the message says what and where."""


class UnknownGroup(PlatformError):
    """No workload group has this id."""


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """A group with the modes it is in now and its profile's latest version (0: none)."""

    record: GroupRecord
    modes: GroupModes
    profile_version: int


def _state(record: GroupRecord) -> GroupState:
    return GroupState(
        first_seen_ns=record.first_seen,
        process=Mode(record.process_mode) if record.process_mode else None,
        network=Mode(record.network_mode) if record.network_mode else None,
    )


def _profile(group_id: str, stored: ProfileVersion | None) -> Profile:
    if stored is None:
        return Profile(group=GroupId(group_id))
    profile = from_yaml(stored.yaml, f"profile {group_id} v{stored.version}")
    return Profile(group=GroupId(group_id), version=stored.version, items=profile.items)


class ProfileService:
    """Groups, modes and profiles: the store's calls, run off the event loop."""

    def __init__(
        self,
        store: ProfileStore,
        runner: StoreRunner,
        policy: ModePolicy,
        selectors: GroupSelectorStore | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self.policy = policy
        self._selectors = selectors

    async def groups(self) -> list[GroupStatus]:
        """Every group with its modes now."""
        return await self._runner.read(self._statuses, None)

    async def group(self, group_id: str) -> GroupStatus:
        """One group with its modes now; UnknownGroup if there is none."""
        found = await self._runner.read(self._statuses, group_id)
        if not found:
            raise UnknownGroup(f"no workload group {group_id!r}")
        return found[0]

    def _statuses(self, group_id: str | None) -> list[GroupStatus]:
        now = time.time_ns()
        if group_id is None:
            records = self._store.groups()
        else:
            one = self._store.group(group_id)
            records = [one] if one else []
        statuses = []
        for record in records:
            latest = self._store.latest_profile(record.id)
            modes = effective_modes(_state(record), self.policy, now)
            statuses.append(GroupStatus(record, modes, latest.version if latest else 0))
        return statuses

    async def set_modes(
        self, group_id: str, process: Mode | None, network: Mode | None, username: str
    ) -> GroupStatus:
        """Set a group's modes (None: the policy decides); agents take them within seconds."""
        await self.group(group_id)
        await self._runner.write(
            self._store.set_modes,
            group_id,
            process.value if process else None,
            network.value if network else None,
            username,
            time.time_ns(),
        )
        return await self.group(group_id)

    async def profile(self, group_id: str, version: int | None = None) -> ProfileVersion:
        """A stored version of the group's profile (the latest by default)."""
        await self.group(group_id)
        if version is None:
            found = await self._runner.read(self._store.latest_profile, group_id)
        else:
            found = await self._runner.read(self._store.profile_version, group_id, version)
        if found is None:
            which = f"version {version}" if version else "a profile yet"
            raise UnknownGroup(f"workload group {group_id!r} has no {which}")
        return found

    async def versions(self, group_id: str) -> list[ProfileVersion]:
        """Every version of the group's profile, newest first."""
        await self.group(group_id)
        return await self._runner.read(self._store.profile_versions, group_id)

    async def replace(self, group_id: str, yaml: str, username: str) -> ProfileVersion:
        """Store an edited or imported profile as the group's new version.

        A group no agent has reported yet is made here, so a profile can be prepared
        before the workload runs: `group_id` is its id, or else (not of an id's form) the
        value of the `stockade.group` label its containers will carry."""
        if len(yaml.encode()) > MAX_PROFILE_BYTES:
            raise ProfileRefused(f"profile over {MAX_PROFILE_BYTES} bytes")
        try:
            profile = from_yaml(yaml, f"profile of {group_id}")
        except ProfileFormatError as e:
            raise ProfileRefused(str(e)) from e
        if profile.group != group_id:
            raise ProfileRefused(f"profile names group {profile.group!r}, not {group_id!r}")
        return await self._runner.write(self._import, group_id, profile, username, time.time_ns())

    def _import(self, group_id: str, profile: Profile, username: str, now: int) -> ProfileVersion:
        if self._store.group(group_id) is None:
            group = label_group(group_id) if not is_group_id(group_id) else None
            target, name = (group.id, group.name) if group else (group_id, group_id)
            self._store.see_group(target, name, now)
        else:
            target = group_id
        text = to_yaml(Profile(group=GroupId(target), items=profile.items))
        return self._store.add_profile(target, text, username, now)

    async def learned(self, agent_id: str, report: LearnedReport) -> int:
        """Merge what an agent learned into each group's profile; the new versions stored."""
        return await self._runner.write(self._merge_learned, agent_id, report)

    def _merge_learned(self, agent_id: str, report: LearnedReport) -> int:
        stored = 0
        for learned in report.groups:
            self._store.see_group(learned.id, learned.name, learned.first_seen_ns)
            if learned.selector is not None and self._selectors is not None:
                self._selectors.merge_selector(learned.id, learned.selector)
            stored += self._merge_group(learned, f"agent {agent_id}")
        return stored

    def _merge_group(self, learned: LearnedGroup, by: str) -> int:
        """Merge into the latest version; again on a newer one if another platform process
        stored it meanwhile (so neither's additions are lost). 1 if a version was stored."""
        while True:
            current = _profile(learned.id, self._store.latest_profile(learned.id))
            grown = merged(current, learned.behaviours)
            if grown.items == current.items and current.version != 0:
                return 0
            text = to_yaml(Profile(group=grown.group, items=grown.items))
            added = self._store.add_profile_after(
                learned.id, current.version, text, by, time.time_ns()
            )
            if added is not None:
                return 1

    async def push(self, since: int) -> ProfilePush:
        """Every group's modes and profile, unless the revision is still `since`."""
        return await self._runner.read_for_agent(self._push, since)

    def _push(self, since: int) -> ProfilePush:
        revision = self._store.revision()
        if revision == since:
            return ProfilePush(revision=revision, policy=self.policy)
        groups = [
            PushedGroup(state=_state(g), profile=_profile(g.id, self._store.latest_profile(g.id)))
            for g in self._store.groups()
        ]
        return ProfilePush(revision=revision, policy=self.policy, groups=groups)
