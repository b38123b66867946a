"""Checks for what a marked test needs; each returns None when available, else a reason."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path


@cache
def root() -> str | None:
    """Root privileges."""
    return None if os.geteuid() == 0 else "not running as root"


@cache
def ebpf() -> str | None:
    """eBPF CO-RE: root, kernel BTF and the system libbpf."""
    if root():
        return root()
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "no kernel BTF at /sys/kernel/btf/vmlinux"
    if not any(
        Path(p).exists()
        for p in (
            "/usr/lib/x86_64-linux-gnu/libbpf.so.1",
            "/usr/lib/aarch64-linux-gnu/libbpf.so.1",
            "/usr/lib64/libbpf.so.1",
            "/usr/lib/libbpf.so.1",
        )
    ):
        return "libbpf.so.1 not installed"
    if shutil.which("clang") is None:
        return "clang not installed (needed to build the BPF object)"
    return None


@cache
def podman() -> str | None:
    """podman with runc, as root."""
    if root():
        return root()
    for tool in ("podman", "runc", "busybox"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


@cache
def server() -> str | None:
    """Nothing beyond Python is needed to start the platform itself."""
    return None


@cache
def browser() -> str | None:
    """Debian's Chromium and the Playwright driver."""
    if shutil.which("chromium") is None:
        return "chromium not installed"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright not installed"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "root": root,
    "ebpf": ebpf,
    "podman": podman,
    "server": server,
    "browser": browser,
}
