"""Which programs attach as BPF trampolines (fentry/fexit) instead of syscall tracepoints.

Each system call's enter/exit pair exists twice in the object (c/sensor.bpf.c
SYSCALL_PAIRS): `enter_X`/`exit_X` on the syscall tracepoints and `fenter_X`/`fexit_X` on
the call's entry function (`__x64_sys_X`). Attaching any syscall tracepoint turns on the
kernel's slow syscall path for every task, so every system call of the host pays for it;
a trampoline costs only the calls it is on. The loader uses the trampolines where the
kernel can (an architecture with them, the function in its BTF) and the tracepoints
otherwise, or everywhere when `$STOCKADE_BPF_ATTACH` is `tracepoint`. A kernel that has
the functions but refuses to load or attach trampolines (some sandboxed kernels answer
EPERM) gets the tracepoints too: the loader retries once, and not again in that process.

The clone family goes one way as a whole: a trampoline's exit never runs in the new
process, so with trampolines the clone event is written at the fork (`on_fork_report`)
instead of by the child's tracepoint exit (`on_fork` then only notes the parent).

32-bit (compat) system calls enter through other functions (`__ia32_sys_X`): the
trampoline path does not see them, where the tracepoints did.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
from collections.abc import Callable, Iterable
from functools import cache

from stockade.sensor.bpf.kinds import GENERIC_PROGRAMS
from stockade.sensor.bpf.libbpf import LibbpfError, load_library

log = logging.getLogger(__name__)
ATTACH_ENV = "STOCKADE_BPF_ATTACH"
ATTACH_MODES = ("auto", "tracepoint")
_PREFIX = {"x86_64": "__x64_sys_", "aarch64": "__arm64_sys_"}  # c/sensor.bpf.c SYS_PREFIX
_CLONE_FAMILY = frozenset({"clone", "clone3", "fork", "vfork"})
_BTF_KIND_FUNC = 12


class TrampolineVerdict:
    """Whether this kernel refused the trampoline programs (once per process: not retried)."""

    def __init__(self) -> None:
        self.refused: str | None = None  # the first load error, when refused

    def refuse(self, error: str, *, unexpected: bool = False) -> None:
        """Note the refusal and log it once; later loads go straight to the tracepoints.

        `unexpected`: the probe passed but the sensor's own programs failed (a warning).
        """
        if self.refused is None:
            first = error.splitlines()[0] if error else "refused"
            level = logging.WARNING if unexpected else logging.INFO
            log.log(level, "eBPF: BPF trampolines (fentry/fexit) unusable (%s): tracepoints", first)
        self.refused = error


TRAMPOLINES = TrampolineVerdict()


def attach_mode(env: dict[str, str] | None = None) -> str:
    """The attach mode asked for in $STOCKADE_BPF_ATTACH (`auto` when unset)."""
    mode = (env if env is not None else os.environ).get(ATTACH_ENV, "auto") or "auto"
    if mode not in ATTACH_MODES:
        raise LibbpfError(f"${ATTACH_ENV} must be one of {', '.join(ATTACH_MODES)}, not {mode!r}")
    return mode


def entry_function(syscall: str, machine: str | None = None) -> str | None:
    """The kernel function a trampoline of `syscall` attaches to (None: no such path here)."""
    prefix = _PREFIX.get(machine or platform.machine())
    return prefix + syscall if prefix else None


class _ProgLoadOpts(ctypes.Structure):
    """The head of libbpf's struct bpf_prog_load_opts (its `sz` says how much is given)."""

    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("attempts", ctypes.c_int),
        ("expected_attach_type", ctypes.c_uint32),
        ("prog_btf_fd", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_ifindex", ctypes.c_uint32),
        ("kern_version", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32),
        ("attach_prog_fd", ctypes.c_uint32),
        ("attach_btf_obj_fd", ctypes.c_uint32),
    ]


_PROG_TYPE_TRACING, _TRACE_FENTRY = 26, 24
_RETURN_0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])  # r0 = 0; exit


@cache
def trampoline_refusal() -> str | None:
    """Why this kernel will not load trampolines (None: it loads one on close's function).

    A two-instruction fentry program, loaded and closed: far cheaper than finding out by
    loading the sensor's object (its maps, the ring among them, and the programs before).
    """
    function = entry_function("close")
    if function is None:
        return f"no trampoline path on {platform.machine()}"
    lib = load_library()
    btf = lib.btf__load_vmlinux_btf()
    if not btf:
        return "no kernel BTF"
    try:
        btf_id = lib.btf__find_by_name_kind(btf, function.encode(), _BTF_KIND_FUNC)
    finally:
        lib.btf__free(btf)
    if btf_id <= 0:
        return f"{function} is not in the kernel's BTF"
    opts = _ProgLoadOpts(
        sz=ctypes.sizeof(_ProgLoadOpts), expected_attach_type=_TRACE_FENTRY, attach_btf_id=btf_id
    )
    insns = ctypes.create_string_buffer(_RETURN_0, len(_RETURN_0))
    fd = lib.bpf_prog_load(
        _PROG_TYPE_TRACING, b"probe_fentry", b"GPL", insns, 2, ctypes.byref(opts)
    )
    if fd < 0:
        return f"a fentry program on {function} is refused: {os.strerror(-fd)}"
    os.close(fd)
    return None


@cache
def kernel_functions(names: frozenset[str]) -> frozenset[str]:
    """Those of `names` that are functions in the running kernel's BTF."""
    lib = load_library()
    btf = lib.btf__load_vmlinux_btf()
    if not btf:
        return frozenset()
    try:
        found = {
            n for n in names if lib.btf__find_by_name_kind(btf, n.encode(), _BTF_KIND_FUNC) > 0
        }
    finally:
        lib.btf__free(btf)
    return frozenset(found)


def _syscall_of(program: str) -> str | None:
    which, _, syscall = program.partition("_")
    if which not in ("enter", "exit") or program in GENERIC_PROGRAMS:
        return None
    return syscall


def choose_programs(
    wanted: Iterable[str],
    mode: str,
    has_function: Callable[[frozenset[str]], frozenset[str]] = kernel_functions,
    machine: str | None = None,
) -> dict[str, str]:
    """Each wanted program's name -> the program of the object that provides it."""
    wanted = set(wanted)
    syscalls = {s for p in wanted if (s := _syscall_of(p))}
    functions = {s: f for s in syscalls if (f := entry_function(s, machine))}
    present = has_function(frozenset(functions.values())) if mode == "auto" else frozenset()
    by_trampoline = {s for s, f in functions.items() if f in present}
    if not (_CLONE_FAMILY & syscalls) <= by_trampoline:
        by_trampoline -= _CLONE_FAMILY  # one way for the whole family (see the docstring)
    chosen = {p: p for p in wanted}
    for program in wanted:
        syscall = _syscall_of(program)
        if syscall in by_trampoline:
            chosen[program] = "f" + program
    if "on_fork" in wanted and _CLONE_FAMILY & by_trampoline:
        chosen["on_fork"] = "on_fork_report"
    return chosen
