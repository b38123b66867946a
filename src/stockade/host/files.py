"""Configuration on disk: systemd_units, crontab, suid_bin, mounts, dns_resolvers,
block_devices."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stockade.host.accounts import group_entries, passwd
from stockade.host.table import InventoryTable, Row, Scope, lines, table

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".mount", ".target", ".path")
CRON_FILES = ("/etc/crontab",)
CRON_DIRS = ("/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron")
SUID_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
             "/usr/lib", "/usr/libexec", "/opt")  # fmt: skip
SUID_MAX_DEPTH = 4


class SystemdUnitRow(Row, frozen=True, kw_only=True):
    """osquery systemd_units (from unit files: this works without a running systemd)."""

    id: str
    description: str
    load_state: str
    fragment_path: str
    unit_file_state: str  # enabled (wanted by a target) | disabled | masked | static


def _enabled_units(scope: Scope) -> set[str]:
    wanted: set[str] = set()
    for wants in scope.path("/etc/systemd/system").glob("*.wants/*"):
        wanted.add(wants.name)
    return wanted


@table
class SystemdUnits(InventoryTable):
    """Unit files in systemd's search path, first one of each name winning."""

    name = "systemd_units"
    row = SystemdUnitRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per unit name."""
        wanted = _enabled_units(scope)
        seen: dict[str, SystemdUnitRow] = {}
        for directory in UNIT_DIRS:
            base = scope.path(directory)
            for path in sorted(base.glob("*")):
                if path.name in seen or not path.name.endswith(UNIT_SUFFIXES):
                    continue
                masked = _is_masked(path)
                text = "" if masked else _read(path)
                description = next(
                    (
                        ln.partition("=")[2].strip()
                        for ln in text.splitlines()
                        if ln.startswith("Description=")
                    ),
                    "",
                )
                if masked:
                    state = "masked"
                elif path.name in wanted:
                    state = "enabled"
                elif "[Install]" in text:
                    state = "disabled"
                else:
                    state = "static"
                seen[path.name] = SystemdUnitRow(
                    id=path.name,
                    description=description,
                    load_state="masked" if masked else "loaded",
                    fragment_path=f"{directory}/{path.name}",
                    unit_file_state=state,
                    container=scope.container,
                    image=scope.image,
                )
        return list(seen.values())


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _is_masked(path: Path) -> bool:
    try:
        return os.readlink(path) == "/dev/null"
    except OSError:
        return False


class CrontabRow(Row, frozen=True, kw_only=True):
    """osquery crontab."""

    event: str
    minute: str
    hour: str
    day_of_month: str
    month: str
    day_of_week: str
    command: str
    path: str


def parse_crontab(text: str, system: bool) -> list[tuple[str, ...]]:
    """(event, minute, hour, dom, month, dow, command) per job; system files name a user."""
    jobs: list[tuple[str, ...]] = []
    for line in lines(text):
        if "=" in line.split()[0]:
            continue  # an environment line (SHELL=/bin/sh)
        if line.startswith("@"):
            event, _, rest = line.partition(" ")
            jobs.append((event, "", "", "", "", "", rest.strip()))
            continue
        fields = line.split(None, 6 if system else 5)
        if len(fields) >= 6:
            command = fields[-1]
            jobs.append(("", *fields[:5], command))
    return jobs


@table
class Crontab(InventoryTable):
    """Jobs of /etc/crontab, /etc/cron.d and users' crontabs."""

    name = "crontab"
    row = CrontabRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per job line."""
        files = [(p, True) for p in CRON_FILES]
        for directory in CRON_DIRS:
            base = scope.path(directory)
            system = directory == "/etc/cron.d"
            files += [
                (f"{directory}/{f.name}", system) for f in sorted(base.glob("*")) if f.is_file()
            ]
        return [
            CrontabRow(
                event=job[0],
                minute=job[1],
                hour=job[2],
                day_of_month=job[3],
                month=job[4],
                day_of_week=job[5],
                command=job[6],
                path=path,
                container=scope.container,
                image=scope.image,
            )
            for path, system in files
            for job in parse_crontab(scope.read(path), system)
        ]


class SuidBinRow(Row, frozen=True, kw_only=True):
    """osquery suid_bin."""

    path: str
    username: str
    groupname: str
    permissions: str


def _owner_names(scope: Scope) -> tuple[dict[int, str], dict[int, str]]:
    """uid -> user name and gid -> group name as the scope's own passwd and group say."""
    users = {a.uid: a.username for a in reversed(passwd(scope))}
    groups = {gid: name for name, gid, _ in reversed(group_entries(scope))}
    return users, groups


@table
class SuidBin(InventoryTable):
    """Set-user-id and set-group-id files in the binary directories."""

    name = "suid_bin"
    row = SuidBinRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per file with S_ISUID or S_ISGID (symlinks not followed)."""
        rows: list[Row] = []
        seen: set[tuple[int, int]] = set()
        users, groups = _owner_names(scope)
        for directory in SUID_DIRS:
            top = scope.path(directory)
            if top.is_symlink():
                continue  # /bin -> usr/bin: walked once, under its real name
            for dirpath, dirnames, filenames in os.walk(top):
                if dirpath.count(os.sep) - str(top).count(os.sep) >= SUID_MAX_DEPTH:
                    dirnames.clear()
                for name in filenames:
                    full = os.path.join(dirpath, name)
                    try:
                        st = os.lstat(full)
                    except OSError:
                        continue
                    if not stat.S_ISREG(st.st_mode) or not st.st_mode & (
                        stat.S_ISUID | stat.S_ISGID
                    ):
                        continue
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                    user = users.get(st.st_uid, str(st.st_uid))
                    group = groups.get(st.st_gid, str(st.st_gid))
                    perms = ("S" if st.st_mode & stat.S_ISUID else "") + (
                        "G" if st.st_mode & stat.S_ISGID else ""
                    )
                    rows.append(
                        SuidBinRow(
                            path="/" + os.path.relpath(full, scope.root),
                            username=user,
                            groupname=group,
                            permissions=perms,
                            container=scope.container,
                            image=scope.image,
                        )  # fmt: skip
                    )
        return rows


class MountRow(Row, frozen=True, kw_only=True):
    """osquery mounts (without the free-space counters, which change all the time)."""

    device: str
    path: str
    type: str
    flags: str


@table
class Mounts(InventoryTable):
    """The scope's mount table (/proc/PID/mounts)."""

    name = "mounts"
    row = MountRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per mount."""
        text = _read(scope.proc / (str(scope.pid) if scope.pid else "self") / "mounts")
        rows: list[Row] = []
        for line in text.splitlines():
            f = line.split()
            if len(f) >= 4:
                rows.append(
                    MountRow(
                        device=f[0],
                        path=f[1].replace("\\040", " "),
                        type=f[2],
                        flags=f[3],
                        container=scope.container,
                        image=scope.image,
                    )  # fmt: skip
                )
        return rows


class DnsResolverRow(Row, frozen=True, kw_only=True):
    """osquery dns_resolvers."""

    id: int
    type: str
    address: str


@table
class DnsResolvers(InventoryTable):
    """nameserver, search and domain lines of /etc/resolv.conf."""

    name = "dns_resolvers"
    row = DnsResolverRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per nameserver or search domain."""
        rows: list[Row] = []
        for line in lines(scope.read("/etc/resolv.conf")):
            keyword, *values = line.split()
            if keyword in ("nameserver", "search", "domain", "options"):
                for value in values:
                    rows.append(
                        DnsResolverRow(
                            id=len(rows),
                            type=keyword,
                            address=value,
                            container=scope.container,
                            image=scope.image,
                        )  # fmt: skip
                    )
        return rows


class BlockDeviceRow(Row, frozen=True, kw_only=True):
    """osquery block_devices."""

    name: str
    parent: str
    vendor: str
    model: str
    size: int
    block_size: int
    type: str


@table
class BlockDevices(InventoryTable):
    """Disks and partitions from /sys/class/block."""

    name = "block_devices"
    row = BlockDeviceRow
    host_only = True

    def collect(self, scope: Scope) -> list[Row]:  # noqa: ARG002 - the host's /sys
        """One row per block device."""
        rows: list[Row] = []
        for dev in sorted(Path("/sys/class/block").glob("*")):
            real = dev.resolve()
            is_partition = (real / "partition").exists()
            sectors = _read(real / "size").strip()
            rows.append(
                BlockDeviceRow(
                    name=f"/dev/{dev.name}",
                    parent=f"/dev/{real.parent.name}" if is_partition else "",
                    vendor=_read(real / "device" / "vendor").strip(),
                    model=_read(real / "device" / "model").strip(),
                    size=int(sectors) if sectors.isdigit() else 0,
                    block_size=int(_read(real / "queue" / "logical_block_size").strip() or 512)
                    if not is_partition
                    else 512,
                    type="partition" if is_partition else "disk",
                )
            )
        return rows
