"""Behaviour profiles: what a workload group was seen doing, as sets of plain strings.

A profile holds, per kind, the behaviour learned for one group: executables (path, and
path with its sha256), parent -> child executables, files written outside temporary
paths, listening ports, outbound destinations and user ids. Pure values: the agent
learns into one, the platform versions them, YAML is their exchange form.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import msgspec
import yaml

from stockade.errors import StockadeError
from stockade.profiles.groups import GroupId


class Kind(enum.StrEnum):
    """A kind of behaviour a profile holds."""

    EXEC = "executables"  # "/usr/bin/python3"
    EXEC_HASH = "executable_hashes"  # "/usr/bin/python3 sha256:ab12..."
    PARENT = "parents"  # "/bin/sh -> /usr/bin/python3"
    FILE_WRITE = "files_written"  # "/var/lib/app/state.db"
    LISTEN = "listening_ports"  # "tcp/8080"
    CONNECT = "outbound"  # "10.88.0.5:5432"
    USER = "user_ids"  # "1000"


PROCESS_KINDS = frozenset({Kind.EXEC, Kind.EXEC_HASH, Kind.PARENT, Kind.FILE_WRITE, Kind.USER})
NETWORK_KINDS = frozenset({Kind.LISTEN, Kind.CONNECT})


class Behaviour(msgspec.Struct, frozen=True, order=True):
    """One thing a workload did: its kind and its value (e.g. EXEC, "/usr/bin/id")."""

    kind: Kind
    value: str

    def describe(self) -> str:
        """A short human phrase: 'executables: /usr/bin/id'."""
        return f"{self.kind.value}: {self.value}"


class Profile(msgspec.Struct, kw_only=True):
    """A group's learned behaviour, by kind; `version` counts the platform's stored copies."""

    group: GroupId
    version: int = 0
    items: dict[Kind, list[str]] = msgspec.field(default_factory=dict)

    def has(self, behaviour: Behaviour) -> bool:
        """Whether the profile holds this behaviour."""
        return behaviour.value in self.items.get(behaviour.kind, ())

    def behaviours(self) -> set[Behaviour]:
        """Every behaviour the profile holds."""
        return {Behaviour(kind, value) for kind, values in self.items.items() for value in values}


def merged(profile: Profile, learned: Iterable[Behaviour]) -> Profile:
    """A copy of `profile` with `learned` added (sorted lists: one profile, one text)."""
    everything = profile.behaviours() | set(learned)
    return Profile(group=profile.group, version=profile.version, items=_by_kind(everything))


def _by_kind(behaviours: Iterable[Behaviour]) -> dict[Kind, list[str]]:
    items: dict[Kind, list[str]] = {}
    for behaviour in sorted(behaviours):
        items.setdefault(behaviour.kind, []).append(behaviour.value)
    return items


class ProfileFormatError(StockadeError):
    """A profile document cannot be read: the message is one line naming where."""

    exit_code = 2


def to_yaml(profile: Profile) -> str:
    """The profile as YAML: `group`, `version`, then one list per kind."""
    document: dict[str, object] = {"group": profile.group, "version": profile.version}
    document.update({kind.value: list(profile.items.get(kind, [])) for kind in Kind})
    return yaml.safe_dump(document, sort_keys=False)


def from_yaml(text: str, where: str) -> Profile:
    """A profile from YAML as `to_yaml` writes it; unknown keys and bad values are refused."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ProfileFormatError(f"{where}{at}: not YAML ({e.__class__.__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("group"), str):
        raise ProfileFormatError(f"{where}: a profile is a mapping with a 'group' string")
    kinds = {kind.value: kind for kind in Kind}
    unknown = set(document) - set(kinds) - {"group", "version"}
    if unknown:
        raise ProfileFormatError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    learned: list[Behaviour] = []
    for name, kind in kinds.items():
        values = document.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
            raise ProfileFormatError(f"{where}: {name!r} must be a list of strings")
        learned.extend(Behaviour(kind, str(v)) for v in values)
    version = document.get("version", 0)
    if not isinstance(version, int):
        raise ProfileFormatError(f"{where}: 'version' must be an integer")
    profile = Profile(group=GroupId(document["group"]), version=version)
    return merged(profile, learned)
