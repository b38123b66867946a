"""evt.*, syscall.* and fs.path.* fields: the event itself and its arguments."""

from __future__ import annotations

import errno
import socket
import time
from typing import Any

from stockade.model import Event
from stockade.model.flagnames import (
    OPEN_FLAGS,
    render_flag_arg,
    render_open_flags,
    render_sockopt_name,
)
from stockade.rules.fields.base import (
    INLINE_HELPERS,
    ArgKind,
    Extractor,
    FieldDef,
    FieldTable,
    FieldType,
    simple,
)
from stockade.rules.fields.evt_paths import PATH_ARGS, resolved_path

OPEN_TYPES = frozenset({"open", "openat", "openat2", "open_by_handle_at"})
_CATEGORIES = {
    **dict.fromkeys(("open", "openat", "openat2", "creat", "unlink", "unlinkat"), "file"),
    **dict.fromkeys(("rename", "renameat", "renameat2", "chmod", "fchmod", "fchmodat"), "file"),
    **dict.fromkeys(("mkdir", "mkdirat", "link", "linkat", "symlink", "symlinkat"), "file"),
    **dict.fromkeys(("chown", "lchown", "fchown", "fchownat"), "file"),
    **dict.fromkeys(("socket", "connect", "accept", "accept4", "bind", "listen"), "net"),
    **dict.fromkeys(("clone", "clone3", "fork", "vfork", "execve", "execveat"), "process"),
    "procexit": "process",
}


def open_flags(e: Event) -> int | None:
    """The raw open flags of an open-type event (args["flags"] int, else fd.flags)."""
    raw = e.args.get("flags")
    if raw is None:
        return e.fd.flags if e.fd is not None else None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        value = 0
        for bit, name in OPEN_FLAGS:
            if name in raw.split("|"):
                value |= bit
        return value
    return e.fd.flags if e.fd is not None else None


def render_arg(e: Event, key: str, value: Any) -> str:
    """An event argument as Falco renders it in evt.arg.* and evt.args."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if key == "optname":
            return render_sockopt_name(e.args.get("level", -1), value)
        named = render_flag_arg(e.type, key, value)
        return str(value) if named is None else named
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _arg(key: str | None) -> Extractor:
    assert key is not None
    if key.isdigit():
        index = int(key)

        def by_index(e: Event) -> Any:
            items = list(e.args.items())
            if index >= len(items):
                return None
            key, value = items[index]
            if isinstance(value, str):
                return resolved_path(e, key, value) or value
            return render_arg(e, key, value)

        return by_index

    def by_name(e: Event) -> Any:
        value = e.args.get(key)
        if value is None:
            return _open_fallback(e, key)
        if isinstance(value, str):
            return resolved_path(e, key, value) or value
        return render_arg(e, key, value)

    return by_name


def _open_fallback(e: Event, key: str) -> Any:
    """Open events without the argument: flags and name come from the fd, as Falco has them."""
    fd = e.fd
    if fd is None or e.type not in OPEN_TYPES:
        return None
    if key == "flags":
        return render_open_flags(fd.flags)
    if key == "name":
        return fd.name or None
    return None


def _rawarg(key: str | None) -> Extractor:
    name = key or ""
    if rawarg_type(name) is FieldType.STRING:
        return lambda e: e.args.get(name) if isinstance(e.args.get(name), str) else None

    def extract(e: Event) -> int | None:
        value = e.args.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return extract


# Arguments the sensors give as text; every other argument is a number.
_TEXT_ARGS = frozenset({key for keys in PATH_ARGS.values() for key in keys}) | {
    "target", "data", "exe", "cwd", "tuple", "addr", "dev", "type", "uargs", "arg2_str",
}  # fmt: skip


def rawarg_type(key: str) -> FieldType:
    """evt.rawarg.KEY's type (Falco's is the argument's own): text or a number."""
    return FieldType.STRING if key in _TEXT_ARGS else FieldType.INT64


def _buffer(e: Event) -> Any:
    data = e.args.get("data")
    return data if isinstance(data, str) else None


def _args(e: Event) -> str:
    return " ".join(f"{k}={_arg_text(e, k, v)}" for k, v in e.args.items())


def _arg_text(e: Event, key: str, value: Any) -> str:
    """One argument in evt.args: a resolved relative path as `given(resolved)`, as Falco."""
    text = render_arg(e, key, value)
    resolved = resolved_path(e, key, value) if isinstance(value, str) else None
    return f"{text}({resolved})" if resolved else text


def _res(e: Event) -> str:
    return "SUCCESS" if e.res >= 0 else errno.errorcode.get(-e.res, str(e.res))


def open_access(e: Event) -> int:
    """The access mode of an open event (0 read, 1 write, 2 both); -1 for other events."""
    if e.type not in OPEN_TYPES:
        return -1
    raw = e.args.get("flags")
    if raw is None:
        fd = e.fd
        return -1 if fd is None else fd.flags & 0o3
    flags = open_flags(e)
    return -1 if flags is None else flags & 0o3


def _is_open(mask: int) -> Extractor:
    def extract(e: Event) -> bool:
        access = open_access(e)
        return access == 2 or access == mask

    return extract


INLINE_HELPERS["_open_access"] = open_access
INLINE_HELPERS["_OPEN_TYPES"] = OPEN_TYPES
# open_access without its call in the common case: an open event with no raw arguments.
_ACCESS = (
    "(e.fd.flags & 3 if e.fd is not None and not e.args and e.type in _OPEN_TYPES"
    " else _open_access(e))"
)


def _is_open_create(e: Event) -> bool:
    if e.type == "creat":
        return True
    flags = open_flags(e) if e.type in OPEN_TYPES else None
    return flags is not None and bool(flags & 0o100)


def _is_open_exec(e: Event) -> bool:
    mode = e.args.get("mode")
    return _is_open_create(e) and isinstance(mode, int) and bool(mode & 0o111)


def _clock(fmt: str, nanos: bool) -> Extractor:
    def extract(e: Event) -> str:
        secs, ns = divmod(e.ts, 1_000_000_000)
        text = time.strftime(fmt, time.gmtime(secs))
        return f"{text}.{ns:09d}" if nanos else text

    return extract


def _iso8601(e: Event) -> str:
    secs, ns = divmod(e.ts, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ns:09d}Z"


def _type_is(name: str | None) -> Extractor:
    return lambda e: 1 if e.type == name else 0


def _path(*keys: str, fd_fallback: bool = False, raw: bool = False) -> Extractor:
    """The first of `keys` present: as given (`raw`), else resolved as evt.arg resolves it."""

    def extract(e: Event) -> Any:
        for key in keys:
            value = e.args.get(key)
            if isinstance(value, str):
                return value if raw else resolved_path(e, key, value) or value
        if fd_fallback and e.fd is not None and e.fd.name:
            return e.fd.name
        return None

    return extract


def register(t: FieldTable) -> None:
    """Add the evt.* fields to `t`."""
    S, INT, B = FieldType.STRING, FieldType.INT64, FieldType.BOOL
    host = socket.gethostname()
    simple(
        t,
        "evt.num",
        FieldType.UINT64,
        "Event.seq, at least 1",
        lambda e: e.seq or 1,
        inline="(e.seq or 1)",
    )
    simple(t, "evt.time", S, "time of day with ns", _clock("%H:%M:%S", True))
    simple(t, "evt.time.s", S, "time of day", _clock("%H:%M:%S", False))
    simple(t, "evt.time.iso8601", S, "ISO 8601 timestamp, UTC", _iso8601)
    simple(t, "evt.datetime", S, "date and time with ns", _clock("%Y-%m-%d %H:%M:%S", True))
    simple(t, "evt.datetime.s", S, "date and time", _clock("%Y-%m-%d %H:%M:%S", False))
    simple(t, "evt.rawtime", FieldType.ABSTIME, "ns since epoch (Event.ts)", lambda e: e.ts)
    simple(t, "evt.rawtime.s", FieldType.ABSTIME, "s since epoch", lambda e: e.ts // 10**9)
    simple(t, "evt.rawtime.ns", FieldType.ABSTIME, "ns part", lambda e: e.ts % 10**9)
    simple(t, "evt.source", S, "event source", lambda _e: "syscall")
    simple(t, "evt.hostname", S, "host name", lambda _e: host)
    simple(t, "evt.is_async", B, "asynchronous event", lambda _e: False)
    simple(
        t, "evt.type", S, "event type (Event.type)", lambda e: e.type, inline="e.type", cheap=True
    )
    simple(t, "syscall.type", S, "syscall name (Event.type)", lambda e: e.type)
    simple(t, "evt.dir", S, "direction, '<' for Stockade's completed calls", lambda e: e.dir)
    simple(t, "evt.category", S, "event category", lambda e: _CATEGORIES.get(e.type, "other"))
    simple(t, "evt.cpu", INT, "CPU it happened on", lambda e: e.cpu if e.cpu >= 0 else None)
    simple(t, "evt.args", S, "all arguments, k=v joined by spaces", _args)
    simple(t, "evt.info", S, "same as evt.args", _args)
    simple(t, "evt.res", S, "SUCCESS or the errno name (Event.res)", _res)
    simple(
        t,
        "evt.rawres",
        INT,
        "return value (Event.res)",
        lambda e: e.res,
        inline="e.res",
        cheap=True,
    )
    simple(t, "evt.failed", B, "the call failed", lambda e: e.res < 0)
    simple(t, "evt.count", FieldType.UINT64, "always 1", lambda _e: 1)
    simple(
        t,
        "evt.is_open_read",
        B,
        "opened for reading",
        _is_open(0),
        inline=f"({_ACCESS} in (0, 2))",
    )
    simple(
        t,
        "evt.is_open_write",
        B,
        "opened for writing",
        _is_open(1),
        inline=f"({_ACCESS} in (1, 2))",
    )
    simple(t, "evt.is_open_create", B, "open created the file", _is_open_create)
    simple(t, "evt.is_open_exec", B, "open created an executable file", _is_open_exec)
    args = "Event.args[KEY] rendered as Falco does"
    t.add(FieldDef("evt.arg", S, args, _arg, ArgKind.KEY, dotted=True))
    raw = "Event.args[KEY] as the call gave it: the number, or a path unresolved"
    t.add(FieldDef("evt.rawarg", INT, raw, _rawarg, ArgKind.KEY, True, key_type=rawarg_type))
    simple(t, "evt.buffer", S, "I/O data up to the snaplen (Event.args data)", _buffer)
    is_type = "1 when evt.type is KEY"
    t.add(FieldDef("evt.type.is", FieldType.UINT64, is_type, _type_is, ArgKind.KEY, True))
    simple(t, "evt.abspath", S, "path argument, resolved", _path("path", "name", "pathname"))
    simple(
        t,
        "fs.path.name",
        S,
        "path operated on",
        _path("path", "name", "pathname", fd_fallback=True),
    )
    simple(t, "fs.path.nameraw", S, "path as given", _path("path", "name", "pathname", raw=True))
    simple(t, "fs.path.source", S, "source path", _path("oldpath", "target", "source"))
    source_raw = _path("oldpath", "target", "source", raw=True)
    simple(t, "fs.path.sourceraw", S, "source path as given", source_raw)
    simple(t, "fs.path.target", S, "target path", _path("newpath", "linkpath"))
    target_raw = _path("newpath", "linkpath", raw=True)
    simple(t, "fs.path.targetraw", S, "target path as given", target_raw)
