"""A small typed ctypes binding to the system libbpf.so.1 (libbpf 1.1 API subset).

Only what the sensor needs: open/load an object, toggle and attach programs, update maps,
pin maps and links in bpffs and reuse pinned maps, drain a ring buffer, and look up
functions in the kernel's BTF. Every pointer-returning function has `restype = c_void_p`,
and callbacks are kept referenced for as long as libbpf may call them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from typing import Any

from stockade.sensor.base import SensorError


class LibbpfError(SensorError):
    """A libbpf call failed; the message carries errno and the libbpf log tail."""


_PrintFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
SampleFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "libbpf_set_print": (_P, [_PrintFn]),
    "bpf_object__open_file": (_P, [ctypes.c_char_p, _P]),
    "bpf_object__load": (ctypes.c_int, [_P]),
    "bpf_object__close": (None, [_P]),
    "bpf_object__next_program": (_P, [_P, _P]),
    "bpf_object__find_program_by_name": (_P, [_P, ctypes.c_char_p]),
    "bpf_object__find_map_fd_by_name": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "bpf_object__find_map_by_name": (_P, [_P, ctypes.c_char_p]),
    "bpf_map__max_entries": (ctypes.c_uint32, [_P]),
    "bpf_map__set_max_entries": (ctypes.c_int, [_P, ctypes.c_uint32]),
    "bpf_object__next_map": (_P, [_P, _P]),
    "bpf_map__name": (ctypes.c_char_p, [_P]),
    "bpf_map__type": (ctypes.c_int, [_P]),
    "bpf_map__key_size": (ctypes.c_uint32, [_P]),
    "bpf_map__value_size": (ctypes.c_uint32, [_P]),
    "bpf_map__map_flags": (ctypes.c_uint32, [_P]),
    "bpf_map__fd": (ctypes.c_int, [_P]),
    "bpf_map__reuse_fd": (ctypes.c_int, [_P, ctypes.c_int]),
    "bpf_obj_pin": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p]),
    "bpf_obj_get": (ctypes.c_int, [ctypes.c_char_p]),
    "bpf_obj_get_info_by_fd": (ctypes.c_int, [ctypes.c_int, _P, _P]),
    "bpf_program__name": (ctypes.c_char_p, [_P]),
    "bpf_program__set_autoload": (ctypes.c_int, [_P, ctypes.c_bool]),
    "bpf_program__attach": (_P, [_P]),
    "bpf_link__destroy": (ctypes.c_int, [_P]),
    "bpf_link__pin": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "bpf_link__disconnect": (None, [_P]),
    "bpf_link__fd": (ctypes.c_int, [_P]),
    "bpf_map_update_elem": (ctypes.c_int, [ctypes.c_int, _P, _P, ctypes.c_uint64]),
    "bpf_map_lookup_elem": (ctypes.c_int, [ctypes.c_int, _P, _P]),
    "libbpf_num_possible_cpus": (ctypes.c_int, []),
    "ring_buffer__new": (_P, [ctypes.c_int, SampleFn, _P, _P]),
    "ring_buffer__poll": (ctypes.c_int, [_P, ctypes.c_int]),
    "ring_buffer__consume": (ctypes.c_int, [_P]),
    "ring_buffer__free": (None, [_P]),
    "btf__load_vmlinux_btf": (_P, []),
    "btf__find_by_name_kind": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_uint32]),
    "btf__free": (None, [_P]),
    "bpf_prog_load": (
        ctypes.c_int,
        [ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, _P, ctypes.c_size_t, _P],
    ),
}

_LIB_NAMES = ("libbpf.so.1",)


def load_library() -> ctypes.CDLL:
    """Open libbpf.so.1 and declare the functions used; raises LibbpfError if missing."""
    last: OSError | None = None
    for name in (*_LIB_NAMES, ctypes.util.find_library("bpf") or "libbpf.so"):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError as e:
            last = e
    else:
        raise LibbpfError(f"libbpf.so.1 not found (apt-get install libbpf1): {last}")
    for fn, (restype, argtypes) in _SIGNATURES.items():
        f = getattr(lib, fn)
        f.restype = restype
        f.argtypes = argtypes
    return lib


class LibbpfLog:
    """Collects libbpf's log lines (formatted with libc vsnprintf) for error messages."""

    def __init__(self, lib: ctypes.CDLL, keep: int = 200) -> None:
        self.lines: list[str] = []
        self._keep = keep
        libc = ctypes.CDLL(None)
        self._vsnprintf = libc.vsnprintf
        self._vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, _P]
        self._vsnprintf.restype = ctypes.c_int
        self._buf = ctypes.create_string_buffer(1 << 16)
        self._fn = _PrintFn(self._print)  # referenced for as long as libbpf may call it
        lib.libbpf_set_print(self._fn)

    def _print(self, level: int, fmt: bytes | None, args: int | None) -> int:
        del level
        n = self._vsnprintf(self._buf, len(self._buf), fmt, args)
        if n > 0:
            self.lines.extend(self._buf.value.decode(errors="replace").rstrip("\n").splitlines())
            del self.lines[: -self._keep]
        return 0

    def tail(self, n: int = 25) -> str:
        """The last `n` log lines joined (the verifier's reason is usually at the end)."""
        return "\n".join(self.lines[-n:])


def check_ptr(ptr: int | None, what: str, log: LibbpfLog | None = None) -> int:
    """Return `ptr`, or raise LibbpfError with errno and the log tail when it is NULL."""
    if ptr:
        return ptr
    err = ctypes.get_errno()
    detail = f"\n{log.tail()}" if log and log.lines else ""
    raise LibbpfError(f"{what} failed: {os.strerror(err)} (errno {err}){detail}")


def check_rc(rc: int, what: str, log: LibbpfLog | None = None) -> int:
    """Return `rc` when >= 0, else raise LibbpfError (libbpf returns -errno)."""
    if rc >= 0:
        return rc
    detail = f"\n{log.tail()}" if log and log.lines else ""
    raise LibbpfError(f"{what} failed: {os.strerror(-rc)} (errno {-rc}){detail}")


def make_sample_callback(sink: Callable[[bytes], None]) -> Any:
    """Wrap `sink` as a ring buffer sample callback that copies each record out."""
    string_at = ctypes.string_at

    def _cb(_ctx: int | None, data: int, size: int) -> int:
        sink(string_at(data, size))
        return 0

    return SampleFn(_cb)
