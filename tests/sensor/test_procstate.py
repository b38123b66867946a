"""Reading a process's details from /proc: real files of this process, and a fake /proc
for the formats whose interesting cases this host may not show."""

from __future__ import annotations

import os
from pathlib import Path

from stockade.sensor import procstate

FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
     +-- 10.88.0.0/16 2 0 2
        |-- 10.88.0.0
           /16 link UNICAST
        |-- 10.88.0.7
           /32 host LOCAL
"""


def test_the_first_non_loopback_local_address(tmp_path: Path) -> None:
    (tmp_path / "9" / "net").mkdir(parents=True)
    (tmp_path / "9" / "net" / "fib_trie").write_text(FIB_TRIE)
    assert procstate.read_ipv4(9, tmp_path) == "10.88.0.7"
    assert procstate.read_ipv4(10, tmp_path) == ""  # gone


def test_cgroups_v1_by_subsystem(tmp_path: Path) -> None:
    (tmp_path / "9").mkdir()
    (tmp_path / "9" / "cgroup").write_text("4:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c\n")
    assert procstate.read_cgroups(9, tmp_path) == (
        ("cpu", "/a"),
        ("cpuacct", "/a"),
        ("name=systemd", "/b"),
    )


def test_this_process(tmp_path: Path) -> None:
    snapshot = procstate.read_snapshot(os.getpid())
    assert snapshot is not None
    assert snapshot.pgid == os.getpgid(0) and snapshot.nthreads >= 1
    assert snapshot.fdlimit > 0 and snapshot.fd_count >= 3 and snapshot.vmrss_kb > 0
    assert len(snapshot.stdio) == 3 and all(fd.type for fd in snapshot.stdio if fd.name)
    env = procstate.read_environ(os.getpid())
    assert f"PATH={os.environ['PATH']}" in env
    with open(tmp_path / "x", "w") as handle:
        assert procstate.fd_type(str(tmp_path / "x"), os.fstat(handle.fileno()).st_mode) == "file"
    assert procstate.fd_type("pipe:[5]", 0) == "pipe"
    assert procstate.fd_type("anon_inode:[eventpoll]", 0) == "eventpoll"
    assert procstate.fd_type("/memfd:x (deleted)", 0) == "memfd"


def test_processes_with_the_same_environment_and_cgroups_share_one_copy(tmp_path: Path) -> None:
    for pid in (1, 2):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cgroup").write_text("4:cpu,cpuacct:/libpod_parent/x\n0::/x\n")
        (tmp_path / str(pid) / "environ").write_bytes(b"PATH=/bin\0HOME=/root\0")
    first, second = (procstate.read_cgroups(pid, tmp_path) for pid in (1, 2))
    assert first == (("cpu", "/libpod_parent/x"), ("cpuacct", "/libpod_parent/x"))
    assert first is second
    env = [procstate.read_environ(pid, tmp_path) for pid in (1, 2)]
    assert env[0] == ("PATH=/bin", "HOME=/root") and env[0] is env[1]
