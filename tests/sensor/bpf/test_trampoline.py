"""Which programs attach as trampolines (fentry/fexit) and which stay tracepoints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stockade.sensor.bpf.libbpf import LibbpfError
from stockade.sensor.bpf.trampoline import attach_mode, choose_programs, entry_function

LIFECYCLE = {
    "enter_clone", "exit_clone", "enter_clone3", "exit_clone3", "enter_fork", "exit_fork",
    "enter_vfork", "exit_vfork", "on_fork", "on_exec",
}  # fmt: skip


def _all_present(names: frozenset[str]) -> frozenset[str]:
    return names


def _present_but(missing: str) -> Callable[[frozenset[str]], frozenset[str]]:
    return lambda names: frozenset(n for n in names if n != missing)


def test_every_syscall_pair_is_a_trampoline_when_its_function_exists() -> None:
    chosen = choose_programs(
        LIFECYCLE | {"enter_openat", "exit_openat"}, "auto", _all_present, "x86_64"
    )
    assert chosen["enter_openat"] == "fenter_openat"
    assert chosen["exit_openat"] == "fexit_openat"
    assert chosen["exit_clone"] == "fexit_clone"
    assert chosen["on_fork"] == "on_fork_report"  # the clone event is written at the fork
    assert chosen["on_exec"] == "on_exec"


def test_a_missing_function_keeps_that_call_on_its_tracepoints() -> None:
    wanted = {"enter_openat", "exit_openat", "enter_mount", "exit_mount"}
    chosen = choose_programs(wanted, "auto", _present_but("__x64_sys_mount"), "x86_64")
    assert chosen["enter_mount"] == "enter_mount"
    assert chosen["enter_openat"] == "fenter_openat"


def test_the_clone_family_goes_one_way() -> None:
    chosen = choose_programs(LIFECYCLE, "auto", _present_but("__x64_sys_vfork"), "x86_64")
    assert {chosen[p] for p in LIFECYCLE - {"on_exec"}} == LIFECYCLE - {"on_exec"}


def test_generic_programs_and_forced_tracepoints_stay_tracepoints() -> None:
    wanted = {"enter_generic", "exit_generic", "enter_openat", "exit_openat"}
    assert choose_programs(wanted, "auto", _all_present, "x86_64")["enter_generic"] == (
        "enter_generic"
    )
    assert choose_programs(wanted, "tracepoint", _all_present, "x86_64") == {p: p for p in wanted}
    assert choose_programs(wanted, "auto", _all_present, "riscv64")["enter_openat"] == (
        "enter_openat"
    )


def test_entry_functions_and_mode() -> None:
    assert entry_function("openat", "x86_64") == "__x64_sys_openat"
    assert entry_function("openat", "aarch64") == "__arm64_sys_openat"
    assert attach_mode({}) == "auto"
    assert attach_mode({"STOCKADE_BPF_ATTACH": "tracepoint"}) == "tracepoint"
    with pytest.raises(LibbpfError, match="STOCKADE_BPF_ATTACH must be one of auto, tracepoint"):
        attach_mode({"STOCKADE_BPF_ATTACH": "kprobe"})
