"""The OCI hook: the agent's answer lets a container start; no answer in time lets it start
unguarded (fail-open) or refuses it (fail-closed); real podman containers run the hook."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stockade.agent.oci_hook import hook_file, install_hook, remove_hook, run
from stockade.agent.oci_hook_server import HookRequest, HookServer, parse_request, rootfs_of
from tests.support.podman import Podman

STATE = json.dumps({"id": "c" * 64, "pid": 42, "bundle": "/b", "status": "creating"}).encode()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a unix socket's path must fit in 108 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hook") as name:
        yield Path(name)


def test_the_agents_answer_lets_the_container_start(short_dir: Path) -> None:
    asked: list[HookRequest] = []

    def answer(request: HookRequest) -> dict[str, Any]:
        asked.append(request)
        return {"ok": True, "guarded": True}

    server = HookServer(short_dir / "s.sock", answer)
    try:
        assert (short_dir / "s.sock").stat().st_mode & 0o777 == 0o600  # root only
        assert run(str(server.path), 2.0, True, STATE) == 0
        assert asked == [HookRequest("c" * 64, 42, Path("/b"))]
    finally:
        server.close()
    assert not (short_dir / "s.sock").exists()


def test_an_agent_that_could_not_guard_is_no_answer(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = HookServer(short_dir / "s.sock", lambda _r: {"ok": False, "error": "no rootfs"})
    try:
        assert run(str(server.path), 2.0, False, STATE) == 0
        assert run(str(server.path), 2.0, True, STATE) == 1
    finally:
        server.close()
    assert "could not guard it: no rootfs" in capsys.readouterr().err


@pytest.mark.parametrize(("fail_closed", "status"), [(False, 0), (True, 1)], ids=["open", "closed"])
def test_no_agent_within_the_deadline(
    short_dir: Path, capsys: pytest.CaptureFixture[str], fail_closed: bool, status: int
) -> None:
    """An agent that accepts but never answers: the hook gives up at its deadline."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        mute.bind(str(short_dir / "mute.sock"))
        mute.listen(1)
        started = time.monotonic()
        assert run(str(short_dir / "mute.sock"), 0.3, fail_closed, STATE) == status
        assert time.monotonic() - started < 5  # bounded by the deadline, not the runtime's
    assert run(str(short_dir / "none.sock"), 0.3, fail_closed, STATE) == status
    err = capsys.readouterr().err
    verdict = "refused (fail-closed)" if fail_closed else "starts unguarded (fail-open)"
    assert err.count(f"container cccccccccccc {verdict}: no answer from the agent") == 2


def test_bad_input_gets_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("/nonexistent.sock", 1.0, True, b"not json") == 1
    assert capsys.readouterr().err.startswith("stockade oci-hook: the OCI state on stdin is")
    with pytest.raises(ValueError, match=r"^not an OCI state"):
        parse_request(b'{"id": "x"}')
    with pytest.raises(ValueError, match=r"^not an OCI state: no container id"):
        parse_request(b'{"id": "", "pid": 1, "bundle": "/b"}')


def test_the_rootfs_is_the_bundles_root_path(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"root": {"path": "rootfs"}}))
    assert rootfs_of(tmp_path) == tmp_path / "rootfs"
    (tmp_path / "config.json").write_text(json.dumps({"root": {"path": "/var/x/merged"}}))
    assert rootfs_of(tmp_path) == Path("/var/x/merged")


def test_the_hook_file_is_installed_and_removed(tmp_path: Path) -> None:
    path = install_hook(tmp_path / "hooks.d", Path("/run/a.sock"), 2.0, fail_closed=True)
    written = json.loads(path.read_text())
    assert written == hook_file(Path("/run/a.sock"), 2.0, True)
    assert written["stages"] == ["createRuntime"] and written["when"] == {"always": True}
    assert written["hook"]["args"][-5:] == ["--socket", "/run/a.sock", "--deadline", "2",
                                            "--fail-closed"]  # fmt: skip
    remove_hook(tmp_path / "hooks.d")
    assert list((tmp_path / "hooks.d").iterdir()) == []


@pytest.mark.root
@pytest.mark.podman
@pytest.mark.parametrize("fail_closed", [False, True], ids=["fail-open", "fail-closed"])
def test_a_container_with_no_agent_to_ask(
    podman: Podman, busybox_image: str, short_dir: Path, fail_closed: bool
) -> None:
    """No agent runs: fail-open lets the container start (within the deadline), fail-closed
    makes the runtime refuse to start it."""
    install_hook(short_dir / "hooks", short_dir / "no-agent.sock", 1.0, fail_closed)
    hooked = Podman(("--hooks-dir", str(short_dir / "hooks")))
    try:
        ran = hooked.cmd("run", "--rm", *RUN, busybox_image, "echo", "started", check=False)
        if fail_closed:
            assert ran.returncode != 0 and b"error running hook" in ran.stderr, ran.stderr
        else:
            assert ran.returncode == 0 and ran.stdout == b"started\n", ran.stderr
    finally:
        hooked.remove_started()


RUN = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")
