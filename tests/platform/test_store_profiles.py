"""Workload groups and profile versions in the store, SQLite and PostgreSQL alike: modes and
the revision counter, versions numbered without collision while several platform
processes write one group at once, and a learned merge never lost to a concurrent one."""

from __future__ import annotations

import asyncio
import functools

from stockade.platform.backends import open_profile_store
from stockade.platform.services.profiles import ProfileService
from stockade.platform.store import Store
from stockade.platform.store.profiles import ProfileStore, ProfileVersion
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sql import Database
from stockade.platform.store.sqlite_profiles import SqliteProfileStore
from stockade.profiles.modes import ModePolicy
from stockade.profiles.profile import Behaviour, Kind, from_yaml
from stockade.profiles.wire import LearnedGroup, LearnedReport
from tests.support.stores import StoreOpener
from tests.support.together import run_together

GROUP = "localhost-web-1a2b3c4d"


def _profiles(store: Store) -> ProfileStore:
    profiles = open_profile_store(store)
    assert profiles is not None
    return profiles


def test_groups_modes_and_the_revision(open_store: StoreOpener) -> None:
    profiles = _profiles(open_store())
    assert profiles.revision() == 0 and profiles.groups() == []
    assert profiles.see_group(GROUP, "localhost/web", 5)
    assert not profiles.see_group(GROUP, "localhost/web", 9)  # the first sighting stays
    profiles.set_modes(GROUP, "protect", None, "alice", 7)
    group = profiles.group(GROUP)
    assert group is not None
    assert (group.first_seen, group.process_mode, group.network_mode) == (5, "protect", None)
    assert (group.updated_at, group.updated_by) == (7, "alice")
    assert [g.id for g in profiles.groups()] == [GROUP] and profiles.group("nope") is None
    assert profiles.revision() == 2


def test_versions_are_numbered_and_kept(open_store: StoreOpener) -> None:
    profiles = _profiles(open_store())
    assert profiles.latest_profile(GROUP) is None
    first = profiles.add_profile(GROUP, "v1", "alice", 10)
    second = profiles.add_profile(GROUP, "v2", "bob", 11)
    assert (first.version, second.version) == (1, 2)
    assert profiles.latest_profile(GROUP) == second
    assert profiles.profile_version(GROUP, 1) == first
    assert profiles.profile_versions(GROUP) == [second, first]
    assert profiles.add_profile_after(GROUP, 1, "stale", "carol", 12) is None  # 2 is taken
    third = profiles.add_profile_after(GROUP, 2, "v3", "carol", 12)
    assert third == ProfileVersion(GROUP, 3, "v3", 12, "carol")
    assert profiles.revision() == 3


def test_processes_adding_versions_at_once_never_collide(open_store: StoreOpener) -> None:
    stores = [_profiles(open_store()) for _ in range(3)]
    added: list[int] = []

    def add(profiles: ProfileStore, n: int) -> None:
        added.extend(profiles.add_profile(GROUP, f"{n}", f"node {n}", i).version for i in range(5))

    run_together(functools.partial(add, p, n) for n, p in enumerate(stores))
    assert sorted(added) == list(range(1, 16))
    assert [v.version for v in stores[0].profile_versions(GROUP)] == list(range(15, 0, -1))
    assert stores[0].revision() == 15


class _RacedProfiles(SqliteProfileStore):
    """A profile store whose first read of the latest version lets another process store a
    newer one right after it (the moment two platform nodes merge the same group)."""

    def __init__(self, store: Database, other: ProfileStore, yaml: str) -> None:
        super().__init__(store)
        self._other = other
        self._yaml: str | None = yaml

    def latest_profile(self, group_id: str) -> ProfileVersion | None:
        """The latest version; the first time, another process stores a newer one after."""
        latest = super().latest_profile(group_id)
        if self._yaml is not None:
            self._other.add_profile(group_id, self._yaml, "agent other", 2)
            self._yaml = None
        return latest


def _learned(*paths: str) -> LearnedReport:
    behaviours = [Behaviour(Kind.EXEC, p) for p in paths]
    return LearnedReport(groups=[LearnedGroup(id=GROUP, name="web", first_seen_ns=1,
                                              behaviours=behaviours)])  # fmt: skip


def test_a_learned_merge_is_made_again_on_a_version_stored_meanwhile(
    open_store: StoreOpener,
) -> None:
    store, other_store = open_store(), open_store()
    assert isinstance(store, Database)
    other = _profiles(other_store)
    runner = StoreRunner()
    try:
        asyncio.run(ProfileService(other, runner, ModePolicy()).learned("a0", _learned("/bin/a")))
        theirs = other.latest_profile(GROUP)
        assert theirs is not None
        raced = _RacedProfiles(store, other, theirs.yaml.replace("- /bin/a", "- /bin/a\n- /bin/c"))
        service = ProfileService(raced, runner, ModePolicy())
        assert asyncio.run(service.learned("a1", _learned("/bin/b"))) == 1
    finally:
        runner.close()
    latest = other.latest_profile(GROUP)
    assert latest is not None and latest.version == 3
    executables = {b.value for b in from_yaml(latest.yaml, "v3").behaviours()}
    assert {"/bin/a", "/bin/b", "/bin/c"} <= executables  # neither node's addition lost
