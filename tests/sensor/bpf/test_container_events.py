"""Events caused inside a podman container carry its cgroup id; host events do not."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.model import Event
from tests.support.podman import BUSYBOX_IMAGE, Podman
from tests.support.sensor import Collector, cgroup_inode, container_of, resolve

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.podman]

OPEN_TYPES = {"open", "openat", "openat2", "creat"}


def _assert_in(container: str, events: list[Event]) -> None:
    assert events, "no matching event recorded"
    assert {e.proc.cgroup_id for e in events} == {cgroup_inode(container)}
    assert container_of(events[0].proc.cgroup_id) == container
    resolved = resolve(events[0].proc.cgroup_id)
    assert (resolved.id, resolved.short_id) == (container, container[:12])
    assert resolved.image == BUSYBOX_IMAGE and resolved.runtime == "podman"


def test_exec_in_container(podman: Podman, container: str, collector: Collector) -> None:
    token = uuid.uuid4().hex
    podman.exec(container, "/bin/echo", token)
    found = collector.wait_for(lambda e: e.type == "execve" and e.proc.argv == ("/bin/echo", token))
    _assert_in(container, found)
    ev = found[0]
    assert ev.proc.exepath == "/bin/busybox"
    assert ev.proc.vpid != ev.proc.pid  # pid seen inside the container's pid namespace
    assert ev.proc.cwd == "/"
    assert ev.proc.uid == 0
    assert ev.proc.cap_effective != 0


def test_open_and_unlink_in_container(podman: Podman, container: str, collector: Collector) -> None:
    path = f"/tmp/stockade-{uuid.uuid4().hex[:12]}"
    podman.exec(container, "sh", "-c", f"echo x > {path} && rm {path}")
    opened = collector.wait_for(
        lambda e: e.type in OPEN_TYPES and e.fd is not None and e.fd.name == path
    )
    _assert_in(container, opened)
    assert opened[0].res >= 0 and opened[0].args["name"] == path
    removed = collector.wait_for(
        lambda e: e.type in ("unlink", "unlinkat") and path in e.args.values()
    )
    _assert_in(container, removed)


def test_connect_and_accept_in_container(
    podman: Podman, container: str, collector: Collector
) -> None:
    port = 20000 + uuid.uuid4().int % 20000
    script = f"nc -l -p {port} >/dev/null & sleep 0.3; echo hi | nc 127.0.0.1 {port}; wait"
    podman.exec(container, "sh", "-c", script)
    connects = collector.wait_for(
        lambda e: e.type == "connect" and e.fd is not None and e.fd.dport == port
    )
    _assert_in(container, connects)
    fd = connects[0].fd
    assert fd is not None and fd.dip == "127.0.0.1" and fd.l4proto == "tcp"
    assert fd.name == f"127.0.0.1:{fd.sport}->127.0.0.1:{port}"
    accepts = collector.wait_for(
        lambda e: e.type in ("accept", "accept4") and e.fd is not None and e.fd.dport == port
    )
    _assert_in(container, accepts)
    assert accepts[0].fd is not None and accepts[0].fd.sport == fd.sport
    listens = collector.wait_for(lambda e: e.type == "listen" and e.fd is not None)
    assert any(e.fd is not None and e.fd.dport == port for e in listens)


def test_setuid_in_container(podman: Podman, container: str, collector: Collector) -> None:
    podman.exec(container, "busybox", "su", "-s", "/bin/sh", "nobody", "-c", "true")
    found = collector.wait_for(
        lambda e: e.type in ("setuid", "setresuid", "setreuid") and 65534 in e.args.values()
    )
    _assert_in(container, found)


def test_ptrace_in_container(podman: Podman, container: str, collector: Collector) -> None:
    podman.exec(container, "strace", "-f", "-o", "/dev/null", "/bin/true")
    found = collector.wait_for(lambda e: e.type == "ptrace" and e.proc.name == "strace")
    _assert_in(container, found)


def test_host_exec_is_not_in_a_container(collector: Collector) -> None:
    token = uuid.uuid4().hex
    subprocess.run(["/bin/echo", token], check=True, capture_output=True)
    found = collector.wait_for(lambda e: e.type == "execve" and token in e.proc.argv)
    assert found
    assert found[0].proc.exepath in ("/bin/echo", "/usr/bin/echo")
    assert container_of(found[0].proc.cgroup_id) == "host"
    assert resolve(found[0].proc.cgroup_id).id == "host"


MEMFD_EXEC = """
import os
fd = os.memfd_create("payload")
os.write(fd, open("/bin/busybox", "rb").read())
os.execv(f"/proc/self/fd/{fd}", ["true", "fileless"])
"""


def test_exec_from_upper_layer_and_memfd(
    podman: Podman, container: str, collector: Collector
) -> None:
    copy = f"/tmp/{uuid.uuid4().hex[:8]}/true"  # busybox picks the applet by name
    podman.exec(
        container,
        "sh",
        "-c",
        f"mkdir {copy[:-5]} && busybox cp /bin/busybox {copy} && {copy} && /bin/true",
    )
    upper = collector.wait_for(lambda e: e.type == "execve" and e.proc.exepath == copy)
    _assert_in(container, upper)
    assert upper[0].proc.exe_upper_layer and not upper[0].proc.exe_from_memfd
    image = collector.wait_for(lambda e: e.type == "execve" and e.proc.argv == ("/bin/true",))
    assert image and image[0].proc.exepath == "/bin/busybox"  # from the image's lower layer
    assert not image[0].proc.exe_upper_layer
    podman.exec(container, "python3", "-c", MEMFD_EXEC)
    fileless = collector.wait_for(
        lambda e: e.type == "execve" and e.proc.argv == ("true", "fileless")
    )
    _assert_in(container, fileless)
    assert fileless[0].proc.exe_from_memfd


def test_opened_files_carry_device_inode_and_overlay_layer(
    podman: Podman, container: str, collector: Collector
) -> None:
    path = f"/tmp/stockade-{uuid.uuid4().hex[:12]}"  # written now: the upper layer
    podman.exec(container, "sh", "-c", f"echo x > {path}; cat {path} /bin/busybox >/dev/null")
    upper = collector.wait_for(
        lambda e: e.type in OPEN_TYPES and e.fd is not None and e.fd.name == path
    )
    lower = collector.wait_for(  # the image's own file: a lower layer
        lambda e: e.type in OPEN_TYPES and e.fd is not None and e.fd.name == "/bin/busybox"
    )
    assert all(e.fd is not None and e.fd.layer == "upper" and e.fd.ino for e in upper)
    assert all(e.fd is not None and e.fd.layer == "lower" and e.fd.ino for e in lower)


def test_a_host_file_carries_its_device_and_inode(tmp_path: Path, collector: Collector) -> None:
    path = tmp_path / uuid.uuid4().hex
    path.write_text("x")
    subprocess.run(["cat", str(path)], check=True, capture_output=True)
    opened = collector.wait_for(
        lambda e: e.type in OPEN_TYPES and e.fd is not None and e.fd.name == str(path)
    )
    st = path.stat()
    fd = opened[0].fd
    assert fd is not None and (fd.ino, fd.layer) == (st.st_ino, "none")
    assert (fd.dev >> 20, fd.dev & 0xFFFFF) == (os.major(st.st_dev), os.minor(st.st_dev))
