"""Accounts: users, groups and shadow (metadata only: a password hash is never read out),
and shell_history (configurable off)."""

from __future__ import annotations

from dataclasses import dataclass

from stockade.host.table import InventoryTable, Row, Scope, table

ADMIN_GROUPS = frozenset({"root", "sudo", "wheel", "admin"})
HISTORY_FILES = (".bash_history", ".zsh_history", ".sh_history", ".ash_history")
HISTORY_LAST = 20  # last commands kept per history file


@dataclass(frozen=True, slots=True)
class Account:
    """One /etc/passwd line."""

    username: str
    uid: int
    gid: int
    description: str
    directory: str
    shell: str


def passwd(scope: Scope) -> list[Account]:
    """The scope's /etc/passwd entries (malformed lines skipped)."""
    found = []
    for line in scope.read("/etc/passwd").splitlines():
        f = line.split(":")
        if len(f) >= 7 and f[2].isdigit() and f[3].isdigit():
            found.append(Account(f[0], int(f[2]), int(f[3]), f[4], f[5], f[6]))
    return found


def group_entries(scope: Scope) -> list[tuple[str, int, list[str]]]:
    """(name, gid, members) of each /etc/group line."""
    found = []
    for line in scope.read("/etc/group").splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[2].isdigit():
            found.append((f[0], int(f[2]), [m for m in f[3].split(",") if m]))
    return found


def _password_status(hash_field: str) -> str:
    if hash_field == "":
        return "empty"
    if hash_field.startswith("!") or hash_field.startswith("*"):
        return "locked"
    return "active"


def _hash_alg(hash_field: str) -> str:
    """The crypt scheme id ($6$ -> 6, $y$ -> y) without anything of the hash itself."""
    stripped = hash_field.lstrip("!")
    return stripped.split("$")[1] if stripped.startswith("$") and stripped.count("$") >= 2 else ""


def _int(text: str) -> int:
    return int(text) if text.lstrip("-").isdigit() else -1


class UserRow(Row, frozen=True, kw_only=True):
    """osquery users, plus group memberships, admin rights and password age."""

    uid: int
    gid: int
    username: str
    description: str
    directory: str
    shell: str
    type: str
    groups: str  # comma-separated names of the groups it is in (primary first)
    admin: int  # 1: uid 0 or member of root/sudo/wheel/admin
    password_status: str  # active | locked | empty | "" (no shadow entry)
    password_last_change: int  # days since 1970-01-01 (shadow), -1 unknown


@table
class Users(InventoryTable):
    """Local users from /etc/passwd, with memberships and shadow metadata."""

    name = "users"
    row = UserRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per passwd entry."""
        groups = group_entries(scope)
        gid_names = {gid: name for name, gid, _ in groups}
        shadow = {f[0]: f for f in (ln.split(":") for ln in scope.read("/etc/shadow").splitlines())}
        rows: list[Row] = []
        for a in passwd(scope):
            names = [gid_names.get(a.gid, str(a.gid))]
            names += [n for n, gid, members in groups if a.username in members and gid != a.gid]
            entry = shadow.get(a.username, [])
            rows.append(
                UserRow(
                    uid=a.uid,
                    gid=a.gid,
                    username=a.username,
                    description=a.description,
                    directory=a.directory,
                    shell=a.shell,
                    type="local",
                    groups=",".join(names),
                    admin=int(a.uid == 0 or bool(ADMIN_GROUPS.intersection(names))),
                    password_status=_password_status(entry[1]) if len(entry) > 1 else "",
                    password_last_change=_int(entry[2]) if len(entry) > 2 else -1,
                    container=scope.container,
                    image=scope.image,
                )
            )
        return rows


class GroupRow(Row, frozen=True, kw_only=True):
    """osquery groups, plus members and whether membership grants admin rights."""

    gid: int
    groupname: str
    members: str
    admin: int


@table
class Groups(InventoryTable):
    """Local groups from /etc/group."""

    name = "groups"
    row = GroupRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per group line."""
        return [
            GroupRow(
                gid=gid,
                groupname=name,
                members=",".join(members),
                admin=int(name in ADMIN_GROUPS),
                container=scope.container,
                image=scope.image,
            )
            for name, gid, members in group_entries(scope)
        ]


class ShadowRow(Row, frozen=True, kw_only=True):
    """osquery shadow: password metadata (never the hash)."""

    username: str
    password_status: str
    hash_alg: str
    last_change: int
    min: int
    max: int
    warning: int
    inactive: int
    expire: int


@table
class Shadow(InventoryTable):
    """/etc/shadow ageing fields; the hash column is reduced to its status and scheme."""

    name = "shadow"
    row = ShadowRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per shadow line."""
        rows: list[Row] = []
        for line in scope.read("/etc/shadow").splitlines():
            f = (line.split(":") + [""] * 9)[:9]
            if not f[0]:
                continue
            rows.append(
                ShadowRow(
                    username=f[0],
                    password_status=_password_status(f[1]),
                    hash_alg=_hash_alg(f[1]),
                    last_change=_int(f[2]),
                    min=_int(f[3]),
                    max=_int(f[4]),
                    warning=_int(f[5]),
                    inactive=_int(f[6]),
                    expire=_int(f[7]),
                    container=scope.container,
                    image=scope.image,
                )
            )
        return rows


class ShellHistoryRow(Row, frozen=True, kw_only=True):
    """osquery shell_history (last commands of each file), plus the file's length."""

    uid: int
    time: int
    command: str
    history_file: str
    history_length: int  # lines in the whole file


def _commands(text: str) -> list[tuple[int, str]]:
    """(time, command) of each entry; bash `#TIME` lines and zsh `: TIME:0;cmd` understood."""
    found: list[tuple[int, str]] = []
    stamp = 0
    for line in text.splitlines():
        if line.startswith("#") and line[1:].isdigit():
            stamp = int(line[1:])
            continue
        if line.startswith(": ") and ";" in line:
            meta, _, line = line.partition(";")
            stamp = _int(meta[2:].split(":")[0])
        if line.strip():
            found.append((max(stamp, 0), line))
            stamp = 0
    return found


@table
class ShellHistory(InventoryTable):
    """The last commands of each user's shell history file (off when the scope says so)."""

    name = "shell_history"
    row = ShellHistoryRow

    def collect(self, scope: Scope) -> list[Row]:
        """HISTORY_LAST rows per history file."""
        if not scope.shell_history:
            return []
        rows: list[Row] = []
        homes = {(a.uid, a.directory) for a in passwd(scope) if a.directory.startswith("/")}
        for uid, home in sorted(homes):
            for name in HISTORY_FILES:
                path = f"{home.rstrip('/')}/{name}"
                commands = _commands(scope.read(path))
                rows += [
                    ShellHistoryRow(
                        uid=uid,
                        time=stamp,
                        command=command[:1000],
                        history_file=path,
                        history_length=len(commands),
                        container=scope.container,
                        image=scope.image,
                    )
                    for stamp, command in commands[-HISTORY_LAST:]
                ]
        return rows
