"""The syscall tables of the generic event, held to the kernel headers installed here."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from stockade.sensor.bpf.syscalls import AARCH64, X86_64, syscall_numbers, syscall_table
from tests.support.ci import require, require_file

_DEFINE = re.compile(r"#define (__NR3264_\w+|__NR_\w+) (\w+)$")
# The wants arm64's asm/unistd.h sets before it includes the generic table.
_ARM64_WANTS = (
    "__ARCH_WANT_RENAMEAT",
    "__ARCH_WANT_NEW_STAT",
    "__ARCH_WANT_SET_GET_RLIMIT",
    "__ARCH_WANT_SYS_CLONE3",
    "__ARCH_WANT_MEMFD_SECRET",
)
# Names the generic table gives 64-bit architectures under another name.
_RENAMED = {"fstatat": "newfstatat"}


def _header_numbers(source: str, *defines: str) -> dict[str, int]:
    """__NR_* of a header as the C preprocessor resolves them (name -> number)."""
    cpp = shutil.which("cpp")
    require(cpp, "the C preprocessor (cpp) is not installed")
    assert cpp is not None
    flags = [f"-D{d}" for d in defines]
    out = subprocess.run(
        [cpp, "-dM", *flags, "-"], input=source, capture_output=True, text=True, check=True
    ).stdout
    raw: dict[str, str] = {}
    for m in filter(None, map(_DEFINE.match, out.splitlines())):
        raw[m[1]] = m[2]
    numbers: dict[str, int] = {}
    for macro, value in raw.items():
        while value in raw:  # an alias of another macro (__NR_fcntl -> __NR3264_fcntl)
            value = raw[value]
        name = macro.removeprefix("__NR_")
        if value.isdigit() and name not in (macro, "syscalls", "arch_specific_syscall"):
            numbers[_RENAMED.get(name, name)] = int(value)
    return numbers


def test_aarch64_table_matches_the_generic_kernel_header() -> None:
    require_file(Path("/usr/include/asm-generic/unistd.h"), "kernel uapi headers")
    header = _header_numbers("#include <asm-generic/unistd.h>\n", *_ARM64_WANTS)
    ours = syscall_numbers("aarch64")
    assert header, "no __NR_ macro read from the header"
    mismatched = {n: (nr, ours.get(n)) for n, nr in header.items() if ours.get(n) != nr}
    assert mismatched == {}
    # what the installed header predates (newer calls) comes from the shared numbering
    assert {n: nr for n, nr in ours.items() if n not in header and nr < 424} == {}


def test_x86_64_table_matches_the_installed_kernel_header() -> None:
    path = require_file(Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), "x86 headers")
    header = _header_numbers(path.read_text())
    ours = syscall_numbers("x86_64")
    assert header
    assert {n: (nr, ours.get(n)) for n, nr in header.items() if ours.get(n) != nr} == {}


def test_well_known_numbers_per_architecture() -> None:
    assert (X86_64[59], X86_64[257], X86_64[288]) == ("execve", "openat", "accept4")
    assert (AARCH64[221], AARCH64[56], AARCH64[242]) == ("execve", "openat", "accept4")
    assert AARCH64[452] == X86_64[452] == "fchmodat2"  # one numbering from 424 on
    assert "open" not in syscall_numbers("aarch64")  # arm64 has only openat
    assert len(set(AARCH64.values())) == len(AARCH64)


def test_the_table_is_chosen_by_the_machine() -> None:
    assert syscall_table("aarch64") is syscall_table("arm64") is AARCH64
    assert syscall_table("x86_64") is X86_64
    assert syscall_table("riscv64") == {}
