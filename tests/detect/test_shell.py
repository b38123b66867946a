"""InteractiveShellInContainer on event values (table-driven)."""

from __future__ import annotations

import re

import pytest

from stockade.detect import DETECTORS, InteractiveShellInContainer
from stockade.model import Ancestor, Container, Event, Process

CONTAINER = Container(
    id="ab" * 32,
    name="web",
    runtime="podman",
    image_repository="localhost/busybox",
    image_tag="latest",
    image_digest="sha256:" + "cd" * 32,
)


def _exec(
    argv: tuple[str, ...], name: str, tty: int = 0, container: Container = CONTAINER
) -> Event:
    proc = Process(
        pid=42, name=name, argv=argv, exepath="/bin/busybox", tty=tty, uid=0, user="root"
    )
    return Event(
        type="execve",
        ts=1_700_000_000_123_456_789,
        proc=proc,
        container=container,
        ancestors=(Ancestor(pid=41, name="conmon"),),
        seq=7,
        host_id="h1",
    )


@pytest.mark.parametrize(
    ("argv", "name", "tty", "fires"),
    [
        (("sh", "-i"), "sh", 0, True),
        (("/bin/bash",), "bash", 34816, True),
        (("busybox", "sh", "-i"), "busybox", 0, True),
        (("-sh",), "sh", 34817, True),
        (("sh", "-c", "true"), "sh", 0, False),
        (("sh", "-c", "-i"), "sh", 0, False),
        (("sh", "script.sh", "-i"), "sh", 0, False),
        (("cat", "-i"), "cat", 0, False),
        (("sh", "-li"), "sh", 0, True),
    ],
    ids=[
        "sh-i",
        "bash-tty",
        "busybox-sh-i",
        "login-tty",
        "sh-c",
        "c-then-i",
        "script",
        "cat",
        "li",
    ],
)
def test_fires_only_for_interactive_shells(
    argv: tuple[str, ...], name: str, tty: int, fires: bool
) -> None:
    alerts = InteractiveShellInContainer().inspect(_exec(argv, name, tty))
    assert bool(alerts) is fires


def test_not_on_the_host() -> None:
    event = _exec(("sh", "-i"), "sh", 34816, container=Container.host())
    assert InteractiveShellInContainer().inspect(event) == []


def test_alert_has_falco_shape() -> None:
    (alert,) = InteractiveShellInContainer().inspect(_exec(("sh", "-i"), "sh"))
    assert alert.rule == "Terminal shell in container"
    assert alert.priority == "Notice"
    assert alert.source == "syscall"
    assert re.fullmatch(r"2023-11-14T22:13:20\.123456789Z", alert.time)
    assert alert.container_id == "ab" * 32 and alert.event_seq == 7 and alert.host_id == "h1"
    assert alert.output.startswith("22:13:20.123456789: Notice A shell was spawned")
    assert "container_name=web" in alert.output and "command=sh -i" in alert.output
    fields = alert.output_fields
    assert fields["proc.name"] == "sh" and fields["proc.pid"] == 42
    assert fields["proc.cmdline"] == "sh -i" and fields["proc.pname"] == "conmon"
    assert fields["container.id"] == "ab" * 6 and fields["container.name"] == "web"
    assert fields["container.image.repository"] == "localhost/busybox"
    assert fields["container.image.tag"] == "latest"
    assert fields["container.image.digest"] == "sha256:" + "cd" * 32
    assert fields["user.name"] == "root"
    assert "T1059" in alert.tags
    assert DETECTORS.get("interactive_shell_in_container") is InteractiveShellInContainer
