"""A registry of plugins keyed by a string id that refuses duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from stockade.errors import StockadeError

T = TypeVar("T")


class DuplicateRegistrationError(StockadeError, ValueError):
    """Raised when an id is registered twice."""


class Registry(Generic[T]):
    """One registry per pluggable capability (event sources, analyzers, stores, ...)."""

    def __init__(self, capability: str) -> None:
        self._capability = capability
        self._items: dict[str, T] = {}

    def register(self, key: str, item: T) -> T:
        """Add `item` under `key`; a second registration of the same key is an error."""
        if key in self._items:
            raise DuplicateRegistrationError(f"{self._capability} {key!r} is already registered")
        self._items[key] = item
        return item

    def get(self, key: str) -> T:
        """The item registered under `key`; KeyError names what is known."""
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self._capability} {key!r} (known: {known})") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def items(self) -> list[tuple[str, T]]:
        """Registered (key, item) pairs in registration order."""
        return list(self._items.items())
