"""user.* and group.* fields of the acting process."""

from __future__ import annotations

from stockade.model import Event
from stockade.rules.fields.base import FieldTable, FieldType, simple


def _user_name(e: Event) -> str | None:
    p = e.proc
    if p.user:
        return p.user
    uid = p.euid if p.euid >= 0 else p.uid
    return "root" if uid == 0 else None


def _homedir(e: Event) -> str | None:
    p = e.proc
    if p.homedir:
        return p.homedir
    uid = p.euid if p.euid >= 0 else p.uid
    return "/root" if uid == 0 else None


def _login_name(e: Event) -> str | None:
    p = e.proc
    if p.loginname:
        return p.loginname
    return "root" if p.loginuid == 0 else None


def _gid(e: Event) -> int | None:
    gid = e.proc.egid if e.proc.egid >= 0 else e.proc.gid
    return None if gid < 0 else gid


def _group_name(e: Event) -> str | None:
    return e.proc.group or ("root" if _gid(e) == 0 else None)


def register(t: FieldTable) -> None:
    """Add the user.* and group.* fields to `t`."""
    S = FieldType.STRING
    simple(t, "user.name", S, "Process.user; 'root' for uid 0", _user_name)
    simple(t, "user.loginname", S, "Process.loginname; 'root' for loginuid 0", _login_name)
    simple(t, "user.homedir", S, "Process.homedir; '/root' for uid 0", _homedir)
    simple(t, "user.shell", S, "Process.shell (the passwd entry's shell)",
           lambda e: e.proc.shell or None)  # fmt: skip
    simple(t, "group.gid", FieldType.UINT64, "effective gid", _gid)
    simple(t, "group.name", S, "Process.group; 'root' for gid 0", _group_name)
