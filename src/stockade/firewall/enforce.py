"""Keeping every protected container's nftables table equal to the allow-list.

`Enforcer.sync` is called with the running containers whenever they or the rules change
(a container of the group starts, a rule is added): each container of a protected group
gets its table rebuilt when what it should hold differs from what was applied in its
current network namespace; a restarted container has a new namespace (a new init pid),
so it gets its table again. A group leaving protect has its tables removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.nftrules import JsonObj, protect_commands, remove_commands
from stockade.respond import nftables
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
Apply = Callable[[Path, JsonObj], None]


@dataclass(frozen=True, slots=True)
class Member:
    """A running container of a group: its id, its init pid (its netns) and its address."""

    container_id: str
    group: str
    pid: int
    addresses: tuple[str, ...] = ()

    @property
    def netns(self) -> Path:
        """The container's network namespace."""
        return Path(f"/proc/{self.pid}/ns/net")


@dataclass
class SyncResult:
    """What one sync did: containers whose table was set or removed, and failures."""

    applied: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _digest(commands: JsonObj) -> str:
    return hashlib.sha256(json.dumps(commands, sort_keys=True).encode()).hexdigest()


class Enforcer:
    """Applies protect tables to containers, remembering what each namespace holds."""

    def __init__(self, apply: Apply = nftables.apply) -> None:
        self._apply = apply
        self._applied: dict[tuple[str, int], str] = {}  # (container, init pid) -> digest

    def sync(
        self,
        members: Iterable[Member],
        rules: Sequence[AllowRule],
        protected: Collection[str],
        resolvers: Sequence[str] = (),
    ) -> SyncResult:
        """Bring every member's table in line with the rules and the protected groups."""
        running = list(members)
        addresses: dict[str, list[str]] = {}
        for m in running:
            addresses.setdefault(m.group, []).extend(m.addresses)
        result = SyncResult()
        for m in running:
            key = (m.container_id, m.pid)
            try:
                if m.group in protected:
                    commands = protect_commands(m.group, rules, addresses, resolvers)
                    digest = _digest(commands)
                    if self._applied.get(key) != digest:
                        self._apply(m.netns, commands)
                        self._applied[key] = digest
                        result.applied.append(m.container_id)
                elif key in self._applied:
                    self._apply(m.netns, remove_commands())
                    del self._applied[key]
                    result.removed.append(m.container_id)
            except RespondError as e:
                log.warning("firewall: container %s: %s", m.container_id[:12], e)
                result.failed[m.container_id] = str(e)
        gone = {(m.container_id, m.pid) for m in running}
        for key in [k for k in self._applied if k not in gone]:
            del self._applied[key]
        return result
