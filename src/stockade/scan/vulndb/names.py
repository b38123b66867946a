"""Package names normalised per ecosystem, so lookups agree with how registries compare them."""

from __future__ import annotations

from stockade.scan.ecosystems import UnknownEcosystemError, spec_for_advisories


def normalise(ecosystem: str, name: str) -> str:
    """`name` as the ecosystem table says its registry compares names; else as written."""
    try:
        return spec_for_advisories(ecosystem).normalise(name)
    except UnknownEcosystemError:
        return name
