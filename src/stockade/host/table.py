"""The inventory table interface, its registry, and where a table reads from (a `Scope`).

Each table is a small collector that turns files under /proc, /sys and /etc into typed
rows (msgspec structs) named and shaped like osquery's table of the same name, plus
`container` and `image` columns. A `Scope` is the host itself or one container seen
through a process inside it: its files via /proc/PID/root, its sockets via /proc/PID/net.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import msgspec

from stockade.registry import Registry


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every table's row: the container it was seen in ("" on the host)."""

    container: str = ""
    image: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a collection reads from: the host, or one container through its PID 1."""

    root: Path = Path("/")  # the filesystem root (/proc/PID/root for a container)
    proc: Path = Path("/proc")
    pid: int = 0  # a process in the scope's namespaces; 0 is the host itself
    container: str = ""
    image: str = ""
    shell_history: bool = True  # collect shell_history rows (configurable off)

    def path(self, absolute: str) -> Path:
        """`absolute` (e.g. /etc/passwd) inside this scope's filesystem."""
        return self.root / absolute.lstrip("/")

    def net(self, name: str) -> Path:
        """A /proc/net file of this scope's network namespace."""
        return self.proc / (str(self.pid) if self.pid else "self") / "net" / name

    def read(self, absolute: str) -> str:
        """A text file of the scope; "" when it is absent or unreadable."""
        try:
            return self.path(absolute).read_text(errors="replace")
        except OSError:
            return ""


class InventoryTable(ABC):
    """One osquery-shaped table: its name, row type, and how to collect its rows."""

    name: ClassVar[str]
    row: ClassVar[type[Row]]
    host_only: ClassVar[bool] = False  # True: the host's view covers containers too
    changes_often: ClassVar[bool] = False  # True: collected on full collections only

    @abstractmethod
    def collect(self, scope: Scope) -> list[Row]:
        """The table's rows in `scope`; [] when its source is absent there."""


TABLES: Registry[InventoryTable] = Registry("inventory table")
T = TypeVar("T", bound=type[InventoryTable])


def table(cls: T) -> T:
    """Class decorator: register one instance of the table under its osquery name."""
    TABLES.register(cls.name, cls())
    return cls


def lines(text: str) -> list[str]:
    """Non-empty lines that are not comments."""
    return [s for s in (raw.strip() for raw in text.splitlines()) if s and not s.startswith("#")]
