"""Which profile behaviours one event shows (pure: an event in, behaviours out)."""

from __future__ import annotations

from stockade.model import Event
from stockade.profiles.profile import Behaviour, Kind

EXEC_TYPES = frozenset({"execve", "execveat"})
OPEN_TYPES = frozenset({"open", "openat", "openat2", "creat"})
CONNECT_TYPES = frozenset({"connect"})
LISTEN_TYPES = frozenset({"listen"})
EVENT_TYPES = EXEC_TYPES | OPEN_TYPES | CONNECT_TYPES | LISTEN_TYPES
# Paths whose writes are churn, not behaviour: temporary files, the kernel's views.
TEMPORARY_PREFIXES = ("/tmp/", "/var/tmp/", "/dev/", "/proc/", "/sys/", "/run/", "/dev/shm/")
# The processes that start a container's entrypoint and `exec` sessions.
RUNTIME_NAMES = ("runc", "crun", "conmon", "containerd-shim", "youki", "runsc")
_WRITE_FLAGS = 0o1 | 0o2 | 0o100  # O_WRONLY | O_RDWR | O_CREAT
# An executable named "/" is a file mounted at the root of a mount of its own: how runc
# seals the copy of itself it re-executes as `runc init` in the container's cgroup.
SEALED_RUNTIME = "/"


def behaviours_of(event: Event, exe_hash: str = "") -> list[Behaviour]:
    """The behaviours `event` shows; `exe_hash` ("sha256:...") is its executable's, if known."""
    if event.res < 0 and event.type not in EXEC_TYPES:
        return []
    if is_runtime(event.proc.exepath):
        return []  # the runtime setting the container up (its /etc/hosts ...), not the workload
    if event.type in EXEC_TYPES:
        return _exec(event, exe_hash) if event.res >= 0 else []
    if event.type in OPEN_TYPES:
        return _write(event)
    if event.type in CONNECT_TYPES:
        return _connect(event)
    if event.type in LISTEN_TYPES:
        return _listen(event)
    return []


def _exec(event: Event, exe_hash: str) -> list[Behaviour]:
    path = event.proc.exepath
    if path == SEALED_RUNTIME:
        return []  # the runtime itself, starting the container or an exec session
    found = [Behaviour(Kind.EXEC, path), Behaviour(Kind.USER, str(event.proc.uid))]
    if exe_hash:
        found.append(Behaviour(Kind.EXEC_HASH, f"{path} {exe_hash}"))
    parent = _parent_name(event.ancestors[0].exepath) if event.ancestors else ""
    if parent:
        found.append(Behaviour(Kind.PARENT, f"{parent} -> {path}"))
    return found


def is_runtime(exepath: str) -> bool:
    """Whether an executable is the container runtime itself (any copy runc makes of itself)."""
    name = exepath.rsplit("/", 1)[-1]
    return exepath in (SEALED_RUNTIME, "/memfd:runc_cloned:/proc/self/exe") or name.startswith(
        RUNTIME_NAMES
    )


def _parent_name(exepath: str) -> str:
    """The parent as a profile names it: the runtime, whichever copy of it, is `<runtime>`."""
    name = exepath.rsplit("/", 1)[-1]
    if exepath == SEALED_RUNTIME or exepath.startswith("/memfd:") or name.startswith(RUNTIME_NAMES):
        return "<runtime>"  # runc execs from a memfd copy of itself, or from its path
    return exepath


def _write(event: Event) -> list[Behaviour]:
    fd = event.fd
    if fd is None or not fd.name.startswith("/") or not fd.flags & _WRITE_FLAGS:
        return []
    if fd.name.startswith(TEMPORARY_PREFIXES):
        return []
    return [Behaviour(Kind.FILE_WRITE, fd.name)]


def _connect(event: Event) -> list[Behaviour]:
    fd = event.fd
    if fd is None or fd.type not in ("ipv4", "ipv6") or not fd.dport:
        return []
    return [Behaviour(Kind.CONNECT, f"{fd.dip}:{fd.dport}")]


def _listen(event: Event) -> list[Behaviour]:
    fd = event.fd
    if fd is None or fd.type not in ("ipv4", "ipv6"):
        return []
    port = fd.dport or fd.sport
    return [Behaviour(Kind.LISTEN, f"tcp/{port}")] if port else []
