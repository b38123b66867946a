"""The exec guard on a real podman container: the kernel stops asking about a file once it
was allowed (a repeated exec never reaches the agent), asks again once the file is
modified in place, and refuses what the profile lacks."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.profiles.groups import GroupId
from stockade.profiles.guard import ExecGuard
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from stockade.profiles.verdict import ExecVerdict, exec_verdict
from tests.support.podman import Podman

pytestmark = [pytest.mark.root, pytest.mark.podman]
ALLOWED = ("/usr/bin/true", "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/cp", "/usr/bin/id")


@pytest.mark.parametrize("mark", ["mount", "rootfs"])
def test_an_allowed_file_is_asked_about_once_until_it_is_modified(
    podman: Podman, tools_image: str, mark: str
) -> None:
    """Alike whether the container's root mount is marked (guarded once seen running) or
    its rootfs overlay's superblock (guarded at create, by the OCI hook)."""
    container = podman.run_detached(tools_image, "sleep", "600")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", container).stdout)
    rootfs = podman.cmd("inspect", "-f", "{{.GraphDriver.Data.MergedDir}}", container).stdout
    profile = merged(Profile(group=GroupId("g")), [Behaviour(Kind.EXEC, p) for p in ALLOWED])
    asked: list[str] = []
    refused: list[str] = []

    def decide(_cid: str, path: str, upper: bool, file_hash: Callable[[], str]) -> ExecVerdict:
        asked.append(path)
        return exec_verdict(profile, path, upper, file_hash)

    guard = ExecGuard(decide, lambda _cid, path, _v: refused.append(path))
    try:
        if mark == "mount":
            guard.protect(container, pid)
        else:
            guard.protect_rootfs(container, pid, Path(rootfs.decode().strip()))
        for _ in range(3):
            podman.exec(container, "/usr/bin/true")
        assert asked.count("/usr/bin/true") == 1  # the kernel allowed the repeats itself
        assert not [p for p in asked if "/ld-linux" not in p and p != "/usr/bin/true"]

        podman.exec(container, "/usr/bin/cp", "/usr/bin/id", "/usr/bin/true")
        podman.exec(container, "/usr/bin/true", check=False)
        assert asked.count("/usr/bin/true") == 2, asked  # modified: judged again
        assert "/usr/bin/true" in refused  # on the upper layer now: drift

        with pytest.raises(subprocess.CalledProcessError):
            podman.exec(container, "/usr/bin/tac", "/dev/null")
        assert "/usr/bin/tac" in refused
        guard.forget()
        podman.exec(container, "/usr/bin/id")
        podman.exec(container, "/usr/bin/id")
        assert asked.count("/usr/bin/id") == 1
    finally:
        guard.close()
        podman.remove(container)


def test_a_hard_link_of_an_allowed_file_is_still_asked_about(
    podman: Podman, tools_image: str
) -> None:
    """perl and perl5.36.0 are one file in the image (two names, one inode): allowing one
    name must not let the kernel allow the other without asking."""
    container = podman.run_detached(tools_image, "sleep", "600")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", container).stdout)
    links = podman.exec(container, "stat", "-c", "%i %h", "/usr/bin/perl", PERL_LINK).split(b"\n")
    assert links[0] == links[1] and links[0].endswith(b" 2")  # the image's hard link
    profile = merged(Profile(group=GroupId("g")), [Behaviour(Kind.EXEC, "/usr/bin/perl")])
    refused: list[str] = []
    guard = ExecGuard(
        lambda _cid, path, upper, file_hash: exec_verdict(profile, path, upper, file_hash),
        lambda _cid, path, _v: refused.append(path),
    )
    try:
        guard.protect(container, pid)
        for _ in range(2):
            podman.exec(container, "/usr/bin/perl", "-e", "1")
        ran = podman.cmd("exec", container, PERL_LINK, "-e", "1", check=False)
        assert ran.returncode != 0 and refused == [PERL_LINK]
    finally:
        guard.close()
        podman.remove(container)


PERL_LINK = "/usr/bin/perl5.36.0"
