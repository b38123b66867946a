"""The agent's profile book: per group, its profile, its modes, what it learned, what it alerted.

Pure state with the clock passed in: `judge` takes one event's behaviours and says
what is new and what to do about it. Discover learns (no alert), monitor reports each
new behaviour once, protect reports it as to be blocked. Drift (an executable not as the
image has it: written after the container started, or run from memory) is reported in
monitor and protect alike, unless the group learned that very file (path and sha256)
while it discovered (a package installed then); a memfd always is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stockade.model import Event
from stockade.model.entities import Container
from stockade.profiles.groups import GroupId, WorkloadGroup, workload_group
from stockade.profiles.modes import GroupModes, GroupState, Mode, ModePolicy, effective_modes
from stockade.profiles.profile import NETWORK_KINDS, Behaviour, Kind, Profile, merged
from stockade.profiles.selectors import PodSelector, common, pod_selector

MAX_CACHED_CONTAINERS = 4096


@dataclass(frozen=True, slots=True)
class Deviation:
    """Something a group did outside its profile, and the mode it was judged in."""

    group: GroupId
    behaviour: Behaviour
    mode: Mode  # monitor: alert; protect: alert and block
    drift: bool = False


@dataclass(slots=True)
class ProfileBook:
    """Profiles and modes of every group this agent sees, and what it learned since sync."""

    policy: ModePolicy = field(default_factory=ModePolicy)
    profiles: dict[GroupId, Profile] = field(default_factory=dict)
    states: dict[GroupId, GroupState] = field(default_factory=dict)
    learned: dict[GroupId, set[Behaviour]] = field(default_factory=dict)  # not yet sent
    names: dict[GroupId, str] = field(default_factory=dict)
    selectors: dict[GroupId, PodSelector] = field(default_factory=dict)  # over its containers
    _reported: set[tuple[GroupId, Behaviour, Mode]] = field(default_factory=set)
    _groups: dict[str, WorkloadGroup] = field(default_factory=dict)  # by container id

    def group_of(self, event: Event) -> WorkloadGroup:
        """The event's workload group (cached per container: ids cost a hash)."""
        return self.group_of_container(event.container)

    def group_of_container(self, container: Container) -> WorkloadGroup:
        """The container's workload group (cached per container id)."""
        found = self._groups.get(container.id)
        if found is None:
            if len(self._groups) >= MAX_CACHED_CONTAINERS:
                self._groups.clear()
            found = self._groups[container.id] = workload_group(container)
            self.names[found.id] = found.name
            seen, selector = self.selectors.get(found.id), pod_selector(container)
            self.selectors[found.id] = common(seen, selector) if seen else selector
        return found

    def modes(self, group: GroupId, now_ns: int) -> GroupModes:
        """The group's modes now (a group first seen now starts in discover)."""
        state = self.states.setdefault(group, GroupState(first_seen_ns=now_ns))
        return effective_modes(state, self.policy, now_ns)

    def profile(self, group: GroupId) -> Profile:
        """The group's profile (empty until learned or pushed)."""
        return self.profiles.setdefault(group, Profile(group=group))

    def judge(
        self,
        event: Event,
        behaviours: list[Behaviour],
        now_ns: int,
        drifted: bool | None = None,
    ) -> list[Deviation]:
        """Learn or report what in `behaviours` the event's group's profile does not hold.

        `drifted`: the exec's file compared with the image's (None: the event's upper
        layer and memfd flags say)."""
        group = self.group_of(event).id
        modes = self.modes(group, now_ns)
        found = []
        profile = self.profile(group)
        drift = drift_of(event, drifted)
        learned = not event.proc.exe_from_memfd and any(
            b.kind is Kind.EXEC_HASH and profile.has(b) for b in behaviours
        )
        if drift is not None and modes.process is not Mode.DISCOVER and not learned:
            found.extend(self.report(group, drift, modes.process, drift=True))
        for behaviour in behaviours:
            if profile.has(behaviour):
                continue
            mode = modes.network if behaviour.kind in NETWORK_KINDS else modes.process
            if mode is Mode.DISCOVER:
                self._learn(group, behaviour)
            else:
                found.extend(self.report(group, behaviour, mode))
        return found

    def _learn(self, group: GroupId, behaviour: Behaviour) -> None:
        self.profiles[group] = merged(self.profile(group), [behaviour])
        self.learned.setdefault(group, set()).add(behaviour)

    def report(
        self, group: GroupId, behaviour: Behaviour, mode: Mode, *, drift: bool = False
    ) -> list[Deviation]:
        """A deviation to alert on, unless this group's behaviour was reported already."""
        key = (group, behaviour, mode)  # a refusal in protect is recorded after monitor
        if key in self._reported:  # one alert per new thing and mode, not per repeat
            return []
        self._reported.add(key)
        return [Deviation(group, behaviour, mode, drift)]

    def take_learned(self) -> dict[GroupId, set[Behaviour]]:
        """What was learned since the last call (to send to the platform), then forget it."""
        learned, self.learned = self.learned, {}
        return learned

    def replace(self, profile: Profile) -> None:
        """Take a profile pushed by the platform (learned but unsent behaviour is kept)."""
        pending = self.learned.get(profile.group, set())
        before = self.profiles.get(profile.group)
        self.profiles[profile.group] = merged(profile, pending)
        if before is None or before.items != self.profiles[profile.group].items:
            # an edited profile may have dropped what was alerted: alert on it again
            self._reported = {r for r in self._reported if r[0] != profile.group}

    def set_state(self, group: GroupId, state: GroupState) -> None:
        """Take a group's first sighting and user-set modes as the platform has them."""
        self.states[group] = state


def drift_of(event: Event, drifted: bool | None = None) -> Behaviour | None:
    """The drifted executable an exec ran, as a behaviour, or None; `drifted` None: drift
    is the event's upper layer or memfd flag."""
    if event.type not in ("execve", "execveat") or event.res < 0 or event.container.is_host:
        return None
    if drifted is None:
        drifted = event.proc.exe_from_memfd or event.proc.exe_upper_layer
    return Behaviour(Kind.EXEC, event.proc.exepath) if drifted else None
