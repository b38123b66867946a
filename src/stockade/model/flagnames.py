"""Falco's names of flag and enum arguments (`evt.arg.X`; `evt.rawarg.X` is the number).

Event args hold the raw numbers the kernel saw; `render_flag_arg` turns one into Falco's
text only when a rule or an output asks for it. Values are Linux's (x86_64/arm64 agree
for every table here).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

Bits = tuple[tuple[int, str], ...]

OPEN_FLAGS: Bits = (
    (0o1, "O_WRONLY"), (0o2, "O_RDWR"), (0o100, "O_CREAT"), (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"), (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"), (0o4000000, "O_SYNC"), (0o10000000, "O_PATH"),
    (0o20000000, "O_TMPFILE"),
)  # fmt: skip
MODE_BITS: Bits = (
    (0o1, "S_IXOTH"), (0o2, "S_IWOTH"), (0o4, "S_IROTH"), (0o10, "S_IXGRP"), (0o20, "S_IWGRP"),
    (0o40, "S_IRGRP"), (0o100, "S_IXUSR"), (0o200, "S_IWUSR"), (0o400, "S_IRUSR"),
    (0o1000, "S_ISVTX"), (0o2000, "S_ISGID"), (0o4000, "S_ISUID"),
)  # fmt: skip
CLONE_FLAGS: Bits = (
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"), (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"), (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"), (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
)  # fmt: skip
MOUNT_FLAGS: Bits = tuple((1 << i, name) for i, name in enumerate((
    "RDONLY", "NOSUID", "NODEV", "NOEXEC", "SYNCHRONOUS", "REMOUNT", "MANDLOCK", "DIRSYNC",
    "NOSYMFOLLOW", "", "NOATIME", "NODIRATIME", "BIND", "MOVE", "REC", "SILENT", "POSIXACL",
    "UNBINDABLE", "PRIVATE", "SLAVE", "SHARED", "RELATIME", "KERNMOUNT", "I_VERSION",
    "STRICTATIME", "LAZYTIME", "", "", "NOSEC", "BORN", "ACTIVE", "NOUSER",
)) if name)  # fmt: skip
UMOUNT_FLAGS: Bits = ((1, "FORCE"), (2, "DETACH"), (4, "EXPIRE"), (8, "NOFOLLOW"))
PROT_FLAGS: Bits = (
    (1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (8, "PROT_SEM"),
    (0x1000000, "PROT_GROWSDOWN"), (0x2000000, "PROT_GROWSUP"),
)  # fmt: skip
MMAP_FLAGS: Bits = (
    (0x1, "MAP_SHARED"), (0x2, "MAP_PRIVATE"), (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"), (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
)  # fmt: skip
RENAME_FLAGS: Bits = ((1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT"))
MEMFD_FLAGS: Bits = ((1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB"))
UNLINKAT_FLAGS: Bits = ((0x200, "AT_REMOVEDIR"),)
LINKAT_FLAGS: Bits = ((0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH"))
FCHOWNAT_FLAGS: Bits = ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH"))
FINIT_MODULE_FLAGS: Bits = (
    (1, "MODULE_INIT_IGNORE_MODVERSIONS"), (2, "MODULE_INIT_IGNORE_VERMAGIC"),
    (4, "MODULE_INIT_COMPRESSED_FILE"),
)  # fmt: skip
RESOLVE_FLAGS: Bits = (
    (1, "RESOLVE_NO_XDEV"), (2, "RESOLVE_NO_MAGICLINKS"), (4, "RESOLVE_NO_SYMLINKS"),
    (8, "RESOLVE_BENEATH"), (16, "RESOLVE_IN_ROOT"), (32, "RESOLVE_CACHED"),
)  # fmt: skip
SPLICE_FLAGS: Bits = (
    (1, "SPLICE_F_MOVE"), (2, "SPLICE_F_NONBLOCK"), (4, "SPLICE_F_MORE"), (8, "SPLICE_F_GIFT"),
)  # fmt: skip
PIDFD_FLAGS: Bits = ((0o4000, "PIDFD_NONBLOCK"),)

PTRACE_REQUESTS: dict[int, str] = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 21: "PTRACE_OLDSETOPTIONS",
    24: "PTRACE_SYSCALL", 25: "PTRACE_GET_THREAD_AREA", 26: "PTRACE_SET_THREAD_AREA",
    30: "PTRACE_ARCH_PRCTL", 31: "PTRACE_SYSEMU", 32: "PTRACE_SYSEMU_SINGLESTEP",
    33: "PTRACE_SINGLEBLOCK", 0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG",
    0x4202: "PTRACE_GETSIGINFO", 0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET",
    0x4205: "PTRACE_SETREGSET", 0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT",
    0x4208: "PTRACE_LISTEN", 0x4209: "PTRACE_PEEKSIGINFO", 0x420A: "PTRACE_GETSIGMASK",
    0x420B: "PTRACE_SETSIGMASK",
}  # fmt: skip
SOCKET_FAMILIES: dict[int, str] = {
    0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
    6: "AF_NETROM", 7: "AF_BRIDGE", 8: "AF_ATMPVC", 9: "AF_X25", 10: "AF_INET6", 11: "AF_ROSE",
    12: "AF_DECnet", 13: "AF_NETBEUI", 14: "AF_SECURITY", 15: "AF_KEY", 16: "AF_NETLINK",
    17: "AF_PACKET", 18: "AF_ASH", 19: "AF_ECONET", 20: "AF_ATMSVC", 21: "AF_RDS",
    22: "AF_SNA", 23: "AF_IRDA", 24: "AF_PPPOX", 25: "AF_WANPIPE", 26: "AF_LLC", 27: "AF_IB",
    28: "AF_MPLS", 29: "AF_CAN", 30: "AF_TIPC", 31: "AF_BLUETOOTH", 32: "AF_IUCV",
    33: "AF_RXRPC", 34: "AF_ISDN", 35: "AF_PHONET", 36: "AF_IEEE802154", 37: "AF_CAIF",
    38: "AF_ALG", 39: "AF_NFC", 40: "AF_VSOCK", 41: "AF_KCM", 42: "AF_QIPCRTR", 43: "AF_SMC",
    44: "AF_XDP", 45: "AF_MCTP",
}  # fmt: skip
_BPF_CMDS = (
    "MAP_CREATE", "MAP_LOOKUP_ELEM", "MAP_UPDATE_ELEM", "MAP_DELETE_ELEM", "MAP_GET_NEXT_KEY",
    "PROG_LOAD", "OBJ_PIN", "OBJ_GET", "PROG_ATTACH", "PROG_DETACH", "PROG_TEST_RUN",
    "PROG_GET_NEXT_ID", "MAP_GET_NEXT_ID", "PROG_GET_FD_BY_ID", "MAP_GET_FD_BY_ID",
    "OBJ_GET_INFO_BY_FD", "PROG_QUERY", "RAW_TRACEPOINT_OPEN", "BTF_LOAD", "BTF_GET_FD_BY_ID",
    "TASK_FD_QUERY", "MAP_LOOKUP_AND_DELETE_ELEM", "MAP_FREEZE", "BTF_GET_NEXT_ID",
    "MAP_LOOKUP_BATCH", "MAP_LOOKUP_AND_DELETE_BATCH", "MAP_UPDATE_BATCH", "MAP_DELETE_BATCH",
    "LINK_CREATE", "LINK_UPDATE", "LINK_GET_FD_BY_ID", "LINK_GET_NEXT_ID", "ENABLE_STATS",
    "ITER_CREATE", "LINK_DETACH", "PROG_BIND_MAP", "TOKEN_CREATE",
)  # fmt: skip
BPF_COMMANDS: dict[int, str] = {i: f"BPF_{name}" for i, name in enumerate(_BPF_CMDS)}
_PRCTL = (
    "SET_PDEATHSIG", "GET_PDEATHSIG", "GET_DUMPABLE", "SET_DUMPABLE", "GET_UNALIGN",
    "SET_UNALIGN", "GET_KEEPCAPS", "SET_KEEPCAPS", "GET_FPEMU", "SET_FPEMU", "GET_FPEXC",
    "SET_FPEXC", "GET_TIMING", "SET_TIMING", "SET_NAME", "GET_NAME", "", "", "GET_ENDIAN",
    "SET_ENDIAN", "GET_SECCOMP", "SET_SECCOMP", "CAPBSET_READ", "CAPBSET_DROP", "GET_TSC",
    "SET_TSC", "GET_SECUREBITS", "SET_SECUREBITS", "SET_TIMERSLACK", "GET_TIMERSLACK",
    "TASK_PERF_EVENTS_DISABLE", "TASK_PERF_EVENTS_ENABLE", "MCE_KILL", "MCE_KILL_GET",
    "SET_MM", "SET_CHILD_SUBREAPER", "GET_CHILD_SUBREAPER", "SET_NO_NEW_PRIVS",
    "GET_NO_NEW_PRIVS", "GET_TID_ADDRESS", "SET_THP_DISABLE", "GET_THP_DISABLE", "", "",
    "SET_FP_MODE", "GET_FP_MODE", "CAP_AMBIENT",
)  # fmt: skip
PRCTL_OPTIONS: dict[int, str] = {i: f"PR_{n}" for i, n in enumerate(_PRCTL, start=1) if n}
_SIGNALS = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
)  # fmt: skip
SIGNALS: dict[int, str] = dict(enumerate(_SIGNALS, start=1))
SOCKOPT_LEVELS: dict[int, str] = {1: "SOL_SOCKET", 6: "SOL_TCP"}
_SO = (
    "DEBUG", "REUSEADDR", "TYPE", "ERROR", "DONTROUTE", "BROADCAST", "SNDBUF", "RCVBUF",
    "KEEPALIVE", "OOBINLINE", "NO_CHECK", "PRIORITY", "LINGER", "BSDCOMPAT", "REUSEPORT",
    "PASSCRED", "PEERCRED", "RCVLOWAT", "SNDLOWAT", "RCVTIMEO", "SNDTIMEO",
    "SECURITY_AUTHENTICATION", "SECURITY_ENCRYPTION_TRANSPORT",
    "SECURITY_ENCRYPTION_NETWORK", "BINDTODEVICE", "ATTACH_FILTER", "DETACH_FILTER",
    "PEERNAME", "TIMESTAMP", "ACCEPTCONN", "PEERSEC", "SNDBUFFORCE", "RCVBUFFORCE",
    "PASSSEC", "TIMESTAMPNS", "MARK", "TIMESTAMPING", "PROTOCOL", "DOMAIN", "RXQ_OVFL",
    "WIFI_STATUS", "PEEK_OFF", "NOFCS", "LOCK_FILTER", "SELECT_ERR_QUEUE", "BUSY_POLL",
    "MAX_PACING_RATE", "BPF_EXTENSIONS", "INCOMING_CPU", "ATTACH_BPF", "", "", "", "",
    "MEMINFO", "", "COOKIE", "", "PEERGROUPS",
)  # fmt: skip
SOCKET_OPTIONS: dict[int, str] = {i: f"SO_{n}" for i, n in enumerate(_SO, start=1) if n}
SHUTDOWN_HOW: dict[int, str] = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
FCNTL_COMMANDS: dict[int, str] = {
    0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
    6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG",
    15: "F_SETOWN_EX", 16: "F_GETOWN_EX", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK",
    38: "F_OFD_SETLKW", 1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY",
    1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ",
}  # fmt: skip
_RLIMITS = (
    "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
    "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME",
)  # fmt: skip
RLIMIT_RESOURCES: dict[int, str] = {i: f"RLIMIT_{n}" for i, n in enumerate(_RLIMITS)}
SEEK_WHENCE: dict[int, str] = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END"}


@functools.lru_cache(maxsize=4096)
def render_bits(table: Bits, value: int, none: str = "") -> str:
    """Set bits by name joined by `|` (`none` when no bit is set); unknown bits are dropped."""
    names = [name for bit, name in table if value & bit == bit]
    return "|".join(names) if names else none


@functools.lru_cache(maxsize=1024)
def render_open_flags(flags: int) -> str:
    """Open flags as Falco prints them: O_RDONLY when no access bit, names joined by |."""
    names = [name for bit, name in OPEN_FLAGS if flags & bit == bit]
    if not flags & 0o3:
        names.insert(0, "O_RDONLY")
    return "|".join(names)


def _bits(table: Bits, none: str = "") -> Callable[[int], str]:
    return lambda v: render_bits(table, v & 0xFFFFFFFF, none) or str(v)


def _enum(table: dict[int, str]) -> Callable[[int], str]:
    return lambda v: table.get(v, str(v))


def _clone_flags(v: int) -> str:
    # The low byte of clone's flags is the exit signal, not a flag.
    return render_bits(CLONE_FLAGS, v & 0xFFFFFF00) or "0"


def _signal(v: int) -> str:
    return SIGNALS.get(v, str(v)) if v else "0"


_OPEN, _FD_FLAGS, _MODE = render_open_flags, _bits(OPEN_FLAGS, "0"), _bits(MODE_BITS)
_PROT = _bits(PROT_FLAGS, "PROT_NONE")
Renderer = Callable[[int], str]
RENDERERS: dict[tuple[str, str], Renderer] = {
    **{(t, "flags"): _OPEN for t in ("open", "openat", "openat2", "open_by_handle_at")},
    **{(t, "flags"): _FD_FLAGS for t in ("dup3", "pipe2", "userfaultfd", "inotify_init1")},
    **{(t, "mode"): _MODE for t in ("chmod", "fchmod", "fchmodat", "fchmodat2")},
    ("openat2", "resolve"): _bits(RESOLVE_FLAGS),
    ("ptrace", "request"): _enum(PTRACE_REQUESTS),
    ("socket", "domain"): _enum(SOCKET_FAMILIES),
    ("socketpair", "domain"): _enum(SOCKET_FAMILIES),
    ("clone", "flags"): _clone_flags,
    ("unshare", "flags"): _clone_flags,
    ("setns", "nstype"): _clone_flags,
    ("mount", "flags"): _bits(MOUNT_FLAGS, "0"),
    ("umount2", "flags"): _bits(UMOUNT_FLAGS, "0"),
    ("unlinkat", "flags"): _bits(UNLINKAT_FLAGS, "0"),
    ("linkat", "flags"): _bits(LINKAT_FLAGS, "0"),
    ("fchownat", "flags"): _bits(FCHOWNAT_FLAGS, "0"),
    ("renameat2", "flags"): _bits(RENAME_FLAGS, "0"),
    ("memfd_create", "flags"): _bits(MEMFD_FLAGS, "0"),
    ("finit_module", "flags"): _bits(FINIT_MODULE_FLAGS, "0"),
    ("splice", "flags"): _bits(SPLICE_FLAGS, "0"),
    ("pidfd_open", "flags"): _bits(PIDFD_FLAGS, "0"),
    ("bpf", "cmd"): _enum(BPF_COMMANDS),
    ("prctl", "option"): _enum(PRCTL_OPTIONS),
    ("mmap", "prot"): _PROT,
    ("mprotect", "prot"): _PROT,
    ("mmap", "flags"): _bits(MMAP_FLAGS, "0"),
    ("kill", "sig"): _signal,
    ("tkill", "sig"): _signal,
    ("tgkill", "sig"): _signal,
    ("signaldeliver", "sig"): _signal,
    ("getsockopt", "level"): _enum(SOCKOPT_LEVELS),
    ("setsockopt", "level"): _enum(SOCKOPT_LEVELS),
    ("shutdown", "how"): _enum(SHUTDOWN_HOW),
    ("fcntl", "cmd"): _enum(FCNTL_COMMANDS),
    ("setrlimit", "resource"): _enum(RLIMIT_RESOURCES),
    ("prlimit", "resource"): _enum(RLIMIT_RESOURCES),
    ("lseek", "whence"): _enum(SEEK_WHENCE),
}
"""(evt.type, argument) -> the renderer of its raw number, for every named argument."""


def render_flag_arg(event_type: str, key: str, value: int) -> str | None:
    """Falco's text of a numeric argument, or None when it is shown as a plain number."""
    render = RENDERERS.get((event_type, key))
    return render(value) if render is not None else None


def render_sockopt_name(level: int, optname: int) -> str:
    """A socket option's name (SO_* at SOL_SOCKET); the number at other levels."""
    return SOCKET_OPTIONS.get(optname, str(optname)) if level == 1 else str(optname)
