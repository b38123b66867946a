"""FIM alerts (pure): a `FileChange`, who made it and a diff -> an `Alert`.

Changes made by package managers are expected during updates: they are reported at
Informational with the `package_manager` tag, so they stay auditable without paging.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from stockade.host.fim_compare import ChangeKind, FileChange
from stockade.host.fim_scan import FileState
from stockade.model import HOST_CONTAINER_ID, Alert, Priority
from stockade.model.alerts import THIS_HOST, falco_time, new_alert

PACKAGE_MANAGERS = frozenset(
    {
        "dpkg",
        "apt",
        "apt-get",
        "aptitude",
        "unattended-upgr",
        "rpm",
        "dnf",
        "yum",
        "apk",
        "zypper",
        "pacman",
        "ldconfig",
        "update-alternatives",
        "ucf",
    }  # fmt: skip
)
RULE_BY_KIND = {
    ChangeKind.ADDED: "File integrity: watched file created",
    ChangeKind.REMOVED: "File integrity: watched file deleted",
    ChangeKind.MODIFIED: "File integrity: watched file changed",
}


@dataclass(frozen=True, slots=True)
class Writer:
    """The process that made a change, as far as it could be read (empty: unknown)."""

    pid: int = 0
    exe: str = ""
    cmdline: str = ""
    container_id: str = HOST_CONTAINER_ID

    @property
    def is_package_manager(self) -> bool:
        """True when the writer is a package manager (or a tool it runs)."""
        return os.path.basename(self.exe) in PACKAGE_MANAGERS


def _attrs(state: FileState | None) -> dict[str, object] | None:
    if state is None:
        return None
    return {
        "sha256": state.sha256,
        "uid": state.uid,
        "gid": state.gid,
        "mode": f"{state.mode & 0o7777:04o}",
        "size": state.size,
        "mtime": falco_time(state.mtime_ns),
    }


def fim_alert(
    change: FileChange, writer: Writer | None, diff: str, host_id: str, *, ts_ns: int = 0
) -> Alert:
    """The alert for one change; `writer` None means it was found by a rescan, not live."""
    ts_ns = ts_ns or time.time_ns()
    rule = RULE_BY_KIND[change.kind]
    quiet = writer is not None and writer.is_package_manager
    priority = Priority.INFORMATIONAL if quiet else Priority.WARNING
    container = writer.container_id if writer is not None else HOST_CONTAINER_ID
    by = f"proc.exepath={writer.exe} proc.pid={writer.pid}" if writer else "found by rescan"
    fields: dict[str, object] = {
        "fim.path": change.path,
        "fim.change": change.kind.value,
        "fim.changed": list(change.changed),
        "fim.before": _attrs(change.before),
        "fim.after": _attrs(change.after),
        "fim.diff": diff,
        "fim.detected_by": "realtime" if writer is not None else "rescan",
        "proc.pid": writer.pid if writer else None,
        "proc.exepath": writer.exe if writer else None,
        "proc.cmdline": writer.cmdline if writer else None,
        "container.id": container if container == HOST_CONTAINER_ID else container[:12],
    }
    text = f"{rule} (file={change.path} changed={','.join(change.changed)} {by} "
    text += f"container_id={fields['container.id']})"
    return new_alert(
        rule=rule,
        priority=priority,
        text=text,
        ts=ts_ns,
        fields=fields,
        source="fim",
        tags=["fim", "package_manager"] if quiet else ["fim"],
        hostname=THIS_HOST,
        host_id=host_id,
        container_id=container,
    )
