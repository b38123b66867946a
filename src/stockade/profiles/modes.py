"""Group modes: discover (learn), monitor (alert on deviation), protect (block deviation).

Process and network behaviour have a mode each. A user may set either from the API; a
group nobody has set follows the policy: discover for its first minutes, then monitor.
"""

from __future__ import annotations

import enum

import msgspec

NS_PER_MINUTE = 60_000_000_000
DEFAULT_DISCOVER_MINUTES = 60


class Mode(enum.StrEnum):
    """What a group's profile does with behaviour outside it."""

    DISCOVER = "discover"  # learn it, no alerts
    MONITOR = "monitor"  # alert on it, once per new thing
    PROTECT = "protect"  # refuse it (or kill it where refusing is not possible)


class GroupModes(msgspec.Struct, frozen=True, kw_only=True):
    """A group's modes: one for process behaviour, one for network behaviour."""

    process: Mode = Mode.DISCOVER
    network: Mode = Mode.DISCOVER


class ModePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a group nobody set a mode for moves on: discover for N minutes, then this."""

    discover_minutes: int = DEFAULT_DISCOVER_MINUTES
    then: Mode = Mode.MONITOR


class GroupState(msgspec.Struct, frozen=True, kw_only=True):
    """What decides a group's modes: when it was first seen and what a user set, if anything."""

    first_seen_ns: int
    process: Mode | None = None  # set by a user; None: follow the policy
    network: Mode | None = None


def effective_modes(state: GroupState, policy: ModePolicy, now_ns: int) -> GroupModes:
    """The modes a group is in now: a user's choice, else the policy's by the group's age."""
    learning = now_ns - state.first_seen_ns < policy.discover_minutes * NS_PER_MINUTE
    default = Mode.DISCOVER if learning else policy.then
    return GroupModes(process=state.process or default, network=state.network or default)


def parse_mode(text: str, where: str) -> Mode:
    """A mode from its name, or a one-line ValueError naming where the bad name came from."""
    try:
        return Mode(text.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in Mode)
        raise ValueError(f"{where}: unknown mode {text!r} (one of {names})") from None
