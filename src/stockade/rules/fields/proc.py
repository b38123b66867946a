"""proc.* and thread.* fields: the acting process and its ancestors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stockade.model import Ancestor, Event, Process
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType, simple

CAPABILITIES = (  # noqa: SIM905 - the kernel's order, bit 0 first
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID "
    "CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST "
    "CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO "
    "CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE "
    "CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE "
    "CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM "
    "CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE"
).split()


def render_caps(mask: int) -> str:
    """A capability mask as Falco prints it: names joined by spaces."""
    return " ".join(name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1)


def cmdline(name: str, argv: tuple[str, ...]) -> str:
    """Falco's cmdline: the name followed by the arguments."""
    return " ".join((name, *argv[1:])) if len(argv) > 1 else name


def _exe(p: Process | Ancestor) -> str:
    return p.argv[0] if p.argv else p.name


def _ancestor(attr: str) -> Callable[[str | None], Extractor]:
    """Extractors for an ancestor attribute: [0] is the process itself, [1] the parent."""

    def of(node: Process | Ancestor) -> Any:
        if attr == "exe":
            return _exe(node)
        if attr == "cmdline":
            return cmdline(node.name, node.argv)
        if attr == "args":
            return " ".join(node.argv[1:])
        return getattr(node, attr)

    def bind(arg: str | None) -> Extractor:
        if arg is None:
            return lambda e: tuple(of(a) for a in e.ancestors)
        level = int(arg)
        if level == 0:
            return lambda e: of(e.proc)

        def extract(e: Event) -> Any:
            chain = e.ancestors
            return of(chain[level - 1]) if level <= len(chain) else None

        return extract

    return bind


def _parent(attr: str) -> Extractor:
    return _ancestor(attr)("1")


def _caps(attr: str) -> Extractor:
    return lambda e: render_caps(getattr(e.proc, attr))


def _env(arg: str | None) -> Extractor:
    if arg is None:
        return lambda e: " ".join(e.proc.env)
    prefix = f"{arg}="

    def extract(e: Event) -> Any:
        for item in e.proc.env:
            if item.startswith(prefix):
                return item[len(prefix) :]
        return None

    return extract


def _leader(key: str, attr: str) -> Extractor:
    """The session or process-group leader: the process itself or its eldest same-id kin."""

    def extract(e: Event) -> Any:
        p = e.proc
        ident = getattr(p, key)
        if ident in (0, p.vpid or p.pid, p.pid):
            return _exe(p) if attr == "exe" else getattr(p, attr)
        for a in e.ancestors:  # a vpgid counts in the process's own pid namespace
            if (a.vpid or a.pid if key == "vpgid" else a.pid) == ident:
                return _exe(a) if attr == "exe" else getattr(a, attr)
        return None

    return extract


def _args(arg: str | None) -> Extractor:
    """proc.args, or with an index one argument (None when the process has fewer)."""
    if arg is None:
        return lambda e: " ".join(e.proc.argv[1:])
    index = int(arg) + 1

    def extract(e: Event) -> str | None:
        argv = e.proc.argv
        return argv[index] if index < len(argv) else None

    return extract


def _ppid(e: Event) -> int:
    return e.proc.ppid or (e.ancestors[0].pid if e.ancestors else 0)


def _since(e: Event, start: int) -> int | None:
    return e.ts - start if start else None


def _uid_or_none(value: int) -> int | None:
    return None if value < 0 else value


def register(t: FieldTable) -> None:
    """Add the proc.* and thread.* fields to `t`."""
    S, INT, B = FieldType.STRING, FieldType.INT64, FieldType.BOOL
    add = t.add
    simple(
        t,
        "proc.name",
        S,
        "comm (Process.name)",
        lambda e: e.proc.name,
        inline="e.proc.name",
        cheap=True,
    )
    simple(
        t,
        "proc.exe",
        S,
        "argv[0] (Process.argv[0])",
        lambda e: _exe(e.proc),
        inline="(e.proc.argv[0] if e.proc.argv else e.proc.name)",
    )
    simple(
        t,
        "proc.exepath",
        S,
        "executable path (Process.exepath)",
        lambda e: e.proc.exepath,
        inline="e.proc.exepath",
        cheap=True,
    )
    add(
        FieldDef(
            "proc.args",
            S,
            "argv[1:] joined by spaces; [N]: argument N counting from 0 (argv[N+1])",
            _args,
            ArgKind.OPTIONAL_INDEX,
        )
    )
    simple(t, "proc.cmdline", S, "name and args", lambda e: e.proc.cmdline)
    simple(t, "proc.exeline", S, "exe and args", lambda e: " ".join(e.proc.argv))
    simple(
        t,
        "proc.cmdnargs",
        FieldType.UINT64,
        "number of args",
        lambda e: max(len(e.proc.argv) - 1, 0),
    )
    simple(
        t,
        "proc.cmdlenargs",
        FieldType.UINT64,
        "length of args",
        lambda e: sum(map(len, e.proc.argv[1:])),
    )
    add(
        FieldDef(
            "proc.env", S, "environment, or one variable with [NAME]", _env, ArgKind.OPTIONAL_KEY
        )
    )
    simple(t, "proc.cwd", S, "working directory", lambda e: e.proc.cwd, inline="e.proc.cwd")
    simple(
        t, "proc.tty", FieldType.UINT64, "tty, 0: none", lambda e: e.proc.tty, inline="e.proc.tty"
    )
    simple(t, "proc.pid", INT, "pid", lambda e: e.proc.pid)
    simple(t, "proc.ppid", INT, "parent pid", _ppid)
    simple(
        t,
        "proc.vpid",
        INT,
        "pid in its namespace",
        lambda e: e.proc.vpid or e.proc.pid,
        inline="(e.proc.vpid or e.proc.pid)",
    )
    simple(t, "proc.sid", INT, "session id", lambda e: e.proc.sid)
    simple(t, "proc.vpgid", INT, "process group id in its namespace", lambda e: e.proc.vpgid)
    simple(t, "proc.sname", S, "session leader's name", _leader("sid", "name"))
    simple(t, "proc.sid.exe", S, "session leader's exe", _leader("sid", "exe"))
    simple(t, "proc.sid.exepath", S, "session leader's path", _leader("sid", "exepath"))
    simple(t, "proc.vpgid.name", S, "group leader's name", _leader("vpgid", "name"))
    simple(t, "proc.vpgid.exe", S, "group leader's exe", _leader("vpgid", "exe"))
    simple(t, "proc.vpgid.exepath", S, "group leader's path", _leader("vpgid", "exepath"))
    simple(
        t,
        "proc.is_sid_leader",
        B,
        "sid == vpid",
        lambda e: e.proc.sid == (e.proc.vpid or e.proc.pid),
    )
    simple(
        t,
        "proc.is_vpgid_leader",
        B,
        "vpgid == vpid",
        lambda e: e.proc.vpgid == (e.proc.vpid or e.proc.pid),
    )
    simple(
        t,
        "proc.pname",
        S,
        "parent's name (Event.ancestors[0])",
        _parent("name"),
        inline="(e.ancestors[0].name if e.ancestors else None)",
    )
    simple(t, "proc.pexe", S, "parent's argv[0]", _parent("exe"))
    simple(t, "proc.pexepath", S, "parent's executable path", _parent("exepath"))
    simple(t, "proc.pcmdline", S, "parent's cmdline", _parent("cmdline"))
    doc = "ancestor N (Event.ancestors[N-1]; [0] is the process); no index: any ancestor"
    for name, attr in (("aname", "name"), ("aexe", "exe"), ("aexepath", "exepath")):
        inline = (
            f"(e.ancestors[{{i}}].{attr} if len(e.ancestors) > {{i}} else None)"
            if attr != "exe"
            else ""
        )
        add(
            FieldDef(
                f"proc.{name}",
                S,
                f"{attr} of {doc}",
                _ancestor(attr),
                ArgKind.OPTIONAL_INDEX,
                multi=True,
                inline=inline,
            )
        )
    add(
        FieldDef(
            "proc.acmdline",
            S,
            f"cmdline of {doc}",
            _ancestor("cmdline"),
            ArgKind.OPTIONAL_INDEX,
            multi=True,
        )
    )
    add(
        FieldDef(
            "proc.aargs", S, f"args of {doc}", _ancestor("args"), ArgKind.OPTIONAL_INDEX, multi=True
        )
    )
    add(
        FieldDef(
            "proc.apid", INT, f"pid of {doc}", _ancestor("pid"), ArgKind.OPTIONAL_INDEX, multi=True
        )
    )
    R = FieldType.RELTIME
    simple(t, "proc.duration", R, "ns since start", lambda e: _since(e, e.proc.start_ns))
    simple(
        t,
        "proc.ppid.duration",
        R,
        "ns since the parent started",
        lambda e: _since(e, e.ancestors[0].start_ns) if e.ancestors else None,
    )
    simple(t, "proc.pid.ts", R, "start time, ns", lambda e: e.proc.start_ns or None)
    simple(
        t,
        "proc.ppid.ts",
        R,
        "parent start time",
        lambda e: e.ancestors[0].start_ns or None if e.ancestors else None,
    )
    simple(t, "proc.is_exe_writable", B, "exe writable by its user", lambda e: e.proc.exe_writable)
    simple(
        t,
        "proc.is_exe_upper_layer",
        B,
        "exe on overlay upper",
        lambda e: e.proc.exe_upper_layer,
        inline="e.proc.exe_upper_layer",
    )
    simple(
        t,
        "proc.is_exe_lower_layer",
        B,
        "exe on overlay lower",
        lambda e: not e.proc.exe_upper_layer and not e.container.is_host,
    )
    simple(
        t,
        "proc.is_exe_from_memfd",
        B,
        "exe is a memfd",
        lambda e: e.proc.exe_from_memfd,
        inline="e.proc.exe_from_memfd",
    )
    simple(t, "proc.exe_ino", INT, "exe inode", lambda e: e.proc.exe_ino or None)
    A = FieldType.ABSTIME
    simple(t, "proc.exe_ino.ctime", A, "exe ctime, ns", lambda e: e.proc.exe_ino_ctime or None)
    simple(t, "proc.exe_ino.mtime", A, "exe mtime, ns", lambda e: e.proc.exe_ino_mtime or None)
    simple(
        t,
        "proc.exe_ino.ctime_duration_proc_start",
        A,
        "start minus exe ctime",
        lambda e: e.proc.start_ns - e.proc.exe_ino_ctime if e.proc.exe_ino_ctime else None,
    )
    for name in ("healthcheck", "liveness_probe", "readiness_probe"):
        simple(t, f"proc.is_container_{name}", B, "deprecated; always false", lambda _e: False)
    simple(t, "thread.tid", INT, "thread id", lambda e: e.proc.tid or e.proc.pid)
    simple(t, "thread.vtid", INT, "thread id in its namespace", lambda e: e.proc.tid or e.proc.vpid)
    for name in ("effective", "permitted", "inheritable"):
        simple(
            t,
            f"thread.cap_{name}",
            S,
            f"{name} capabilities by name",
            _caps(f"cap_{name}"),
        )
    simple(
        t,
        "user.uid",
        FieldType.UINT64,
        "effective uid",
        lambda e: _uid_or_none(e.proc.euid if e.proc.euid >= 0 else e.proc.uid),
    )
    simple(t, "user.loginuid", INT, "login uid, -1 when unset", lambda e: e.proc.loginuid)
