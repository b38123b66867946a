"""The store and bus a platform runs on, built from its configuration through the
STORES and BUSES registries (the only place the platform chooses them), and the stores kept
beside the store: profiles, firewall, incidents and fleet state, one implementation each
over the SQL `Database` both the SQLite and the PostgreSQL store are."""

from __future__ import annotations

from typing import TypeVar

from stockade.platform.bus.base import BUSES, Bus
from stockade.platform.errors import PlatformConfigError
from stockade.platform.services.firewall import FirewallStore
from stockade.platform.store.base import STORES, Store, StoreError
from stockade.platform.store.fleet import FleetState
from stockade.platform.store.group_selectors import GroupSelectorStore
from stockade.platform.store.incident_retention import IncidentRetention
from stockade.platform.store.incidents import IncidentStore
from stockade.platform.store.profiles import ProfileStore
from stockade.platform.store.sql import Database
from stockade.registry import Registry

F = TypeVar("F")


BATCH_WRITERS = 4  # enough to overlap one batch's commit with the next ones' rows and COPY


def _factory(registry: Registry[F], key: str, option: str) -> F:
    if key not in registry:
        raise PlatformConfigError(f"{registry.unknown(key)}; choose one with {option}")
    return registry.get(key)


def check_backends(store_id: str, bus_id: str) -> None:
    """PlatformConfigError, in one line naming the known ids, if either id is unknown."""
    _factory(STORES, store_id, "--store")
    _factory(BUSES, bus_id, "--bus")


def open_store(store_id: str, location: str) -> Store:
    """The store registered as `store_id`, opened at `location` (a file path or a URL)."""
    return _factory(STORES, store_id, "--store")(location)


def batch_writers(store: Store) -> int:
    """Threads a worker stores batches on at once: BATCH_WRITERS where the store allows
    concurrent `store_batch` calls (`concurrent_batches`), else none of their own."""
    return BATCH_WRITERS if getattr(store, "concurrent_batches", False) else 0


def open_bus(bus_id: str, location: str) -> Bus:
    """The bus registered as `bus_id`, connected to `location` ("" for in-process)."""
    return _factory(BUSES, bus_id, "--bus")(location)


def open_profile_store(store: Store) -> ProfileStore | None:
    """The workload groups and profiles kept beside `store`, or None where it keeps none."""
    # imported here: a store module is loaded by the STORES registry, never before it is read
    from stockade.platform.store.sqlite_profiles import SqliteProfileStore

    return SqliteProfileStore(store) if isinstance(store, Database) else None


def open_group_selectors(store: Store) -> GroupSelectorStore | None:
    """The workload groups' pod selectors kept beside `store`, or None where it keeps none."""
    from stockade.platform.store.sqlite_group_selectors import SqliteGroupSelectors

    return SqliteGroupSelectors(store) if isinstance(store, Database) else None


def open_incident_store(store: Store) -> IncidentStore:
    """The incidents kept beside `store` (in the same database)."""
    from stockade.platform.store.sqlite_incidents import SqliteIncidentStore

    return SqliteIncidentStore(_database(store, "incidents"))


def open_incident_retention(store: Store) -> IncidentRetention:
    """Retention's part in the incidents kept beside `store` (in the same database)."""
    from stockade.platform.store.sqlite_incident_retention import SqliteIncidentRetention

    return SqliteIncidentRetention(_database(store, "incidents"))


def open_fleet_state(store: Store) -> FleetState:
    """The fleet correlations' shared state kept beside `store` (in the same database)."""
    from stockade.platform.store.sqlite_fleet import SqliteFleetState

    return SqliteFleetState(_database(store, "fleet correlation state"))


def open_firewall_store(store: Store) -> FirewallStore:
    """The firewall's flows and rules kept beside `store` (in the same database)."""
    from stockade.platform.store.sqlite_firewall import SqliteFirewall

    return SqliteFirewall(_database(store, "firewall flows"))


def _database(store: Store, what: str) -> Database:
    """`store` as the SQL database the store modules run on (SQLite's or PostgreSQL's)."""
    if isinstance(store, Database):
        return store
    raise StoreError(f"the {type(store).__name__} store keeps no {what}")
