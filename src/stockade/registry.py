"""A registry of plugins keyed by a string id that refuses duplicates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from stockade import plugins
from stockade.errors import StockadeError

T = TypeVar("T")


class DuplicateRegistrationError(StockadeError, ValueError):
    """Raised when an id is registered twice."""


class Registry(Generic[T]):
    """One registry per pluggable capability (event sources, analyzers, stores, ...).

    Its built-ins are loaded by `stockade.plugins` (under the `capability` name) the first
    time the registry is used. Another thread reading meanwhile waits for the load to end;
    the loading thread itself (a module registering, or reading, while it is imported by
    the load) goes on with what is registered so far.
    """

    def __init__(self, capability: str) -> None:
        self.capability = capability
        self._items: dict[str, T] = {}
        self._lock = threading.RLock()
        self._load_started = False
        self._loaded_all = False

    def _loaded(self) -> dict[str, T]:
        if not self._loaded_all:
            with self._lock:
                self._load_once()
        return self._items

    def _load_once(self) -> None:
        if self._load_started:  # done, or under way in this thread (the lock is re-entrant)
            return
        self._load_started = True
        try:
            plugins.load_builtins(self.capability)
        finally:
            self._loaded_all = True

    def register(self, key: str, item: T) -> T:
        """Add `item` under `key`; a second registration of the same key is an error."""
        # Never wait here: if another thread is loading, this may be one of the modules it
        # imports (holding that module's import lock), and that thread imports it whole.
        if not self._loaded_all and self._lock.acquire(blocking=False):
            try:
                self._load_once()
            finally:
                self._lock.release()
        if key in self._items:
            raise DuplicateRegistrationError(f"{self.capability} {key!r} is already registered")
        self._items[key] = item
        return item

    def get(self, key: str) -> T:
        """The item registered under `key`; KeyError names what is known."""
        try:
            return self._loaded()[key]
        except KeyError:
            raise KeyError(self.unknown(key)) from None

    def unknown(self, key: str) -> str:
        """One line saying `key` is not registered, naming the known ids."""
        known = ", ".join(sorted(self._loaded())) or "none"
        failed = "; ".join(plugins.failures(self.capability))
        return f"unknown {self.capability} {key!r} (known: {known})" + (
            f" (not loaded: {failed})" if failed else ""
        )

    def __contains__(self, key: object) -> bool:
        return key in self._loaded()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._loaded()))

    def items(self) -> list[tuple[str, T]]:
        """Registered (key, item) pairs in registration order."""
        return list(self._loaded().items())
