"""User roles: viewer reads, analyst also acts on what it reads, admin does everything."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a user may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"  # read only
    ANALYST = "analyst"  # read, respond, manage rules, incidents and scans
    ADMIN = "admin"  # also users, API tokens of others, the audit log

    @property
    def rank(self) -> int:
        """Position in the order viewer < analyst < admin."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what `needed` may."""
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named `value`; ValueError naming the choices otherwise."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(r.value for r in cls)
            raise ValueError(f"unknown role {value!r}; choose one of {choices}") from None
