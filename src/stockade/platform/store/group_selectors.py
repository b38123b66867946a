"""The `GroupSelectorStore` interface: which pods each workload group is, for policy export."""

from __future__ import annotations

from typing import Protocol

from stockade.profiles.selectors import PodSelector


class GroupSelectorStore(Protocol):
    """Where each group's pod selector is kept (merged over every sighting)."""

    def merge_selector(self, group_id: str, selector: PodSelector) -> None:
        """Keep what this sighting has in common with the ones before (the first: all)."""
        ...

    def selectors(self) -> dict[str, PodSelector]:
        """Every group's selector, by group id."""
        ...
