"""Kernel events as compact typed structs, named after Falco's `evt.type` and fields.

An `Event` is one completed system call (or process lifecycle step) already joined with
its context: the acting process, its ancestors and its container. Attribute names map to
Falco field names (see `stockade.rules` for the full field table):

    Event.type -> evt.type        Event.ts -> evt.rawtime      Event.res -> evt.res
    Process.name -> proc.name     Process.exepath -> proc.exepath
    Process.argv -> proc.exe (argv[0]), proc.args (argv[1:]), proc.cmdline
    FdInfo.name -> fd.name        Container.id -> container.id (full) ...
    Event.args[K] -> evt.arg.K    (Falco's per-event-type argument names)

The JSON Lines capture format is one `Event` per line, encoded with `encode_jsonl`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from stockade.model.entities import Container


class EventType(enum.StrEnum):
    """Event types Stockade's sensors produce (Falco's evt.type names)."""

    # process lifecycle
    CLONE = "clone"
    CLONE3 = "clone3"
    FORK = "fork"
    VFORK = "vfork"
    EXECVE = "execve"
    EXECVEAT = "execveat"
    PROCEXIT = "procexit"
    # files
    OPEN = "open"
    OPENAT = "openat"
    OPENAT2 = "openat2"
    CREAT = "creat"
    UNLINK = "unlink"
    UNLINKAT = "unlinkat"
    RENAME = "rename"
    RENAMEAT = "renameat"
    RENAMEAT2 = "renameat2"
    CHMOD = "chmod"
    FCHMOD = "fchmod"
    FCHMODAT = "fchmodat"
    CHOWN = "chown"
    LCHOWN = "lchown"
    FCHOWN = "fchown"
    FCHOWNAT = "fchownat"
    LINK = "link"
    LINKAT = "linkat"
    SYMLINK = "symlink"
    SYMLINKAT = "symlinkat"
    MKDIR = "mkdir"
    MKDIRAT = "mkdirat"
    RMDIR = "rmdir"
    TRUNCATE = "truncate"
    FTRUNCATE = "ftruncate"
    FCHMODAT2 = "fchmodat2"
    CHDIR = "chdir"
    FCHDIR = "fchdir"
    # file descriptors and I/O
    DUP = "dup"
    DUP2 = "dup2"
    DUP3 = "dup3"
    PIPE = "pipe"
    PIPE2 = "pipe2"
    CLOSE = "close"
    FCNTL = "fcntl"
    SPLICE = "splice"
    READ = "read"
    WRITE = "write"
    PREAD = "pread"
    PWRITE = "pwrite"
    READV = "readv"
    WRITEV = "writev"
    PREADV = "preadv"
    PWRITEV = "pwritev"
    # network
    SOCKET = "socket"
    CONNECT = "connect"
    ACCEPT = "accept"
    ACCEPT4 = "accept4"
    BIND = "bind"
    LISTEN = "listen"
    SOCKETPAIR = "socketpair"
    SHUTDOWN = "shutdown"
    GETSOCKOPT = "getsockopt"
    SETSOCKOPT = "setsockopt"
    SENDTO = "sendto"
    SENDMSG = "sendmsg"
    RECVFROM = "recvfrom"
    RECVMSG = "recvmsg"
    SENDMMSG = "sendmmsg"
    RECVMMSG = "recvmmsg"
    # privilege and isolation
    SETUID = "setuid"
    SETGID = "setgid"
    SETREUID = "setreuid"
    SETREGID = "setregid"
    SETRESUID = "setresuid"
    SETRESGID = "setresgid"
    CAPSET = "capset"
    PTRACE = "ptrace"
    MOUNT = "mount"
    UMOUNT = "umount"
    UMOUNT2 = "umount2"
    UNSHARE = "unshare"
    SETNS = "setns"
    INIT_MODULE = "init_module"
    FINIT_MODULE = "finit_module"
    BPF = "bpf"
    MEMFD_CREATE = "memfd_create"
    USERFAULTFD = "userfaultfd"
    CHROOT = "chroot"
    PRCTL = "prctl"
    SECCOMP = "seccomp"
    SETRLIMIT = "setrlimit"
    PRLIMIT = "prlimit"
    SETSID = "setsid"
    SETPGID = "setpgid"
    IO_URING_SETUP = "io_uring_setup"
    # signals, memory and other processes
    KILL = "kill"
    TKILL = "tkill"
    TGKILL = "tgkill"
    PIDFD_OPEN = "pidfd_open"
    PIDFD_GETFD = "pidfd_getfd"
    PROCESS_VM_READV = "process_vm_readv"
    PROCESS_VM_WRITEV = "process_vm_writev"
    MMAP = "mmap"
    MPROTECT = "mprotect"
    SIGNALDELIVER = "signaldeliver"  # a tracepoint, not a syscall: a signal reached its target
    POLL = "poll"
    PPOLL = "ppoll"


LIFECYCLE_EVENT_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.CLONE,
        EventType.CLONE3,
        EventType.FORK,
        EventType.VFORK,
        EventType.EXECVE,
        EventType.EXECVEAT,
        EventType.PROCEXIT,
    }
)
"""Process lifecycle: the process tree is kept exact from these, whatever rules ask for."""

HIGH_VOLUME_EVENT_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.READ,
        EventType.WRITE,
        EventType.PREAD,
        EventType.PWRITE,
        EventType.READV,
        EventType.WRITEV,
        EventType.PREADV,
        EventType.PWRITEV,
        EventType.SENDTO,
        EventType.SENDMSG,
        EventType.RECVFROM,
        EventType.RECVMSG,
        EventType.SENDMMSG,
        EventType.RECVMMSG,
        EventType.CLOSE,
        EventType.FCNTL,
        EventType.MMAP,
        EventType.MPROTECT,
        EventType.PRLIMIT,  # the dynamic loader's getrlimit: one per exec
        EventType.SIGNALDELIVER,
        EventType.POLL,
        EventType.PPOLL,
    }
)
"""Calls made thousands of times a second on a busy host: captured only when a loaded rule
names them (a rule that names no event type does not bring them in)."""


# The per-event structs below are not tracked by the garbage collector (gc=False): they
# hold values and each other, never a path back to themselves, so they cannot form a
# cycle, and millions of them a minute then cost no collector bookkeeping.
class StdFd(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One standard descriptor (0, 1 or 2) of a process: proc.stdin/stdout/stderr.*."""

    type: str = ""  # file | directory | pipe | unix | ipv4 | ipv6 | ... (FdInfo.type)
    name: str = ""  # path, pipe:[inode], socket:[inode] ...


class ProcSnapshot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What /proc told about a process when it was seen exec (or at the agent's start).

    Falco keeps these in its thread table from exec and clone events; here they are read
    once at exec and inherited by children, as Falco does. -1 means "not read".
    """

    pgid: int = -1  # process group in the host pid namespace (proc.pgid)
    fdlimit: int = -1  # RLIMIT_NOFILE soft limit (proc.fdlimit)
    fd_count: int = -1  # open descriptors (proc.fdopencount)
    vmsize_kb: int = -1
    vmrss_kb: int = -1
    vmswap_kb: int = -1
    pfmajor: int = -1
    pfminor: int = -1
    nthreads: int = -1  # threads alive, leader included (proc.nthreads)
    stdio: tuple[StdFd, ...] = ()  # descriptors 0, 1, 2 in order
    cgroups: tuple[tuple[str, str], ...] = ()  # (subsystem, path), /proc/PID/cgroup order
    # CPU per second before the read, % of one CPU as Falco counts it (clock ticks at
    # 100 Hz, at most 100): the last second of a thread younger than one, else its mean
    cpu_user_pct: float = -1
    cpu_system_pct: float = -1


class Process(msgspec.Struct, kw_only=True, gc=False):
    """The process (thread group) that caused an event: Falco's proc.* and user.* fields."""

    pid: int
    tid: int = 0  # thread.tid; 0 means same as pid
    ppid: int = 0
    vpid: int = 0  # pid inside the process's pid namespace (proc.vpid)
    name: str = ""  # comm, at most 15 chars in the kernel (proc.name)
    exepath: str = ""  # full path of the executable (proc.exepath)
    argv: tuple[str, ...] = ()  # argv[0] is proc.exe, argv[1:] are proc.args
    cwd: str = ""
    uid: int = -1
    gid: int = -1
    euid: int = -1
    egid: int = -1
    loginuid: int = -1  # -1 when unset (Falco prints -1 for 4294967295)
    user: str = ""  # user.name where known
    homedir: str = ""  # user.homedir (the passwd entry of the effective uid) where known
    shell: str = ""  # user.shell where known
    tty: int = 0  # controlling tty device number, 0 for none (proc.tty)
    sid: int = 0
    vpgid: int = 0
    start_ns: int = 0  # process start time, ns since epoch; (pid, start_ns) is unique
    cap_effective: int = 0
    cap_permitted: int = 0
    cap_inheritable: int = 0
    exe_upper_layer: bool = False  # executable lives on an overlayfs upper layer
    exe_from_memfd: bool = False  # executable is a memfd (fileless)
    exe_writable: bool = False  # executable is writable by the process's user
    env: tuple[str, ...] = ()  # "KEY=value" entries, only where collected
    cgroup_id: int = 0  # cgroup v2 id (inode) the sensor saw; the context resolves it
    group: str = ""  # group.name where known
    loginname: str = ""  # user.loginname (name of loginuid) where known
    exe_ino: int = 0  # inode of the executable (proc.exe_ino)
    exe_ino_ctime: int = 0  # ns since epoch (proc.exe_ino.ctime)
    exe_ino_mtime: int = 0  # ns since epoch (proc.exe_ino.mtime)
    snapshot: ProcSnapshot | None = None  # read from /proc at exec, where the agent could

    @property
    def cmdline(self) -> str:
        """Falco's proc.cmdline: the name followed by the arguments."""
        return " ".join((self.name, *self.argv[1:])) if self.argv else self.name


class Ancestor(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A summary of one ancestor process (parent first) for proc.p* / proc.a* fields."""

    pid: int
    name: str = ""
    exepath: str = ""
    argv: tuple[str, ...] = ()
    start_ns: int = 0
    vpid: int = 0  # pid in its own namespace (proc.pvpid of its child)
    env: tuple[str, ...] = ()  # as Process.env (proc.aenv)


class FdInfo(msgspec.Struct, kw_only=True, gc=False):
    """The file descriptor an event acted on: Falco's fd.* fields."""

    num: int = -1
    type: str = ""  # file | directory | ipv4 | ipv6 | unix | pipe | memfd | signalfd ...
    name: str = ""  # path, or "sip:sport->dip:dport" for sockets
    l4proto: str = ""  # tcp | udp | raw | icmp
    sip: str = ""  # client side of a socket, whichever end is local (Falco fd.cip)
    sport: int = 0
    dip: str = ""  # server side of a socket (Falco fd.sip); is_server says which is local
    dport: int = 0
    is_server: bool = False  # for accept/listen/bind
    flags: int = 0  # open flags for files
    sip_name: str = ""  # DNS name of the server side (dip here), Falco's fd.sip.name
    nameraw: str = ""  # a file's path as the call gave it, before resolving (fd.nameraw)
    dev: int = -1  # device of a file, kernel encoding major << 20 | minor (fd.dev)
    ino: int = 0  # inode of a file (fd.ino)
    name_changed: bool = False  # the event renamed an existing fd (fd.name_changed)
    layer: str = ""  # a file's overlayfs layer: upper, lower, none ("": not known)


class Event(msgspec.Struct, kw_only=True, gc=False):
    """One event with its context; the unit of the runtime path."""

    type: str  # Falco evt.type (see EventType)
    ts: int  # ns since the epoch (evt.rawtime)
    proc: Process
    container: Container = msgspec.field(default_factory=Container.host)
    ancestors: tuple[Ancestor, ...] = ()  # parent first
    fd: FdInfo | None = None
    res: int = 0  # return value; negative errno on failure (evt.res / evt.rawres)
    dir: str = "<"  # Falco evt.dir; Stockade events are completed calls
    args: dict[str, Any] = msgspec.field(default_factory=dict)  # evt.arg.<name>
    host_id: str = ""
    seq: int = 0  # per-agent sequence number, assigned when spooled
    source: str = ""  # which sensor produced it (ebpf, proc_connector, fanotify, replay)
    cpu: int = -1  # the CPU it happened on (evt.cpu); -1: the sensor does not say


_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(Event)


def encode_jsonl(events: Iterable[Event]) -> bytes:
    """Encode events in the JSON Lines capture format."""
    return b"".join(_json_encoder.encode(e) + b"\n" for e in events)


def decode_jsonl(data: bytes, origin: str = "<capture>") -> Iterator[Event]:
    """Decode a JSON Lines capture; errors name the origin and line number."""
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield _json_decoder.decode(line)
        except msgspec.ValidationError as e:
            raise msgspec.ValidationError(f"{origin}:{lineno}: {e}") from e
        except msgspec.DecodeError as e:
            raise msgspec.DecodeError(f"{origin}:{lineno}: {e}") from e
