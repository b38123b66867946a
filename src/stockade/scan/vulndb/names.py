"""Package names normalised per ecosystem, so lookups agree with how registries compare them."""

from __future__ import annotations

import re

_PEP503 = re.compile(r"[-_.]+")


def normalise(ecosystem: str, name: str) -> str:
    """PEP 503 for PyPI; lowercase for npm, Debian, Alpine and RPM; as written elsewhere (Go)."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base in ("npm", "Debian", "Ubuntu", "Alpine", "RPM"):
        return name.lower()
    return name
