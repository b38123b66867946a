"""Every response action on real podman containers (and a real process)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stockade.model.actions import ActionStatus, ActionTarget
from stockade.respond import nftables
from stockade.respond.base import ActionContext, perform
from stockade.respond.containers import locate
from tests.support.ci import require
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman]
PONG_LOOP = "while true; do echo pong | nc -l -p 8080; done"


def _serving(podman: Podman, image: str) -> str:
    """A busybox container answering "pong" to every TCP connection on port 8080."""
    return podman.run_detached(image, "sh", "-c", PONG_LOOP)


def _inspect(podman: Podman, container: str, field: str) -> str:
    return podman.cmd("inspect", "--format", field, container).stdout.decode().strip()


def _answers(address: str, timeout_s: float = 1.0) -> bool:
    """True when the pong server at `address` answers within `timeout_s`."""
    try:
        with socket.create_connection((address, 8080), timeout=timeout_s) as sock:
            return sock.recv(16).startswith(b"pong")
    except OSError:
        return False


def _reaches(podman: Podman, container: str, address: str) -> bool:
    """True when `container` gets "pong" from the server at `address`."""
    out = podman.exec(container, "sh", "-c", f"echo | nc -w 2 {address} 8080", check=False)
    return out.startswith(b"pong")


def test_kill_process_kills_through_a_pidfd(action_context: ActionContext) -> None:
    victim = subprocess.Popen(["sleep", "600"])
    result = perform("kill_process", ActionTarget(pid=victim.pid), action_context)
    assert result.status == ActionStatus.DONE, result
    assert victim.wait(timeout=10) == -9


def test_kill_container_makes_it_exit_137(
    podman: Podman, busybox_image: str, action_context: ActionContext
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    result = perform("kill_container", ActionTarget(container_id=container), action_context)
    assert result.status == ActionStatus.DONE, result
    poll_value(
        lambda: _inspect(podman, container, "{{.State.Status}} {{.State.ExitCode}}"),
        lambda s: s == "exited 137",
        30,
        "the killed container to exit 137",
    )


def test_freeze_stops_answers_until_thaw(
    podman: Podman, busybox_image: str, action_context: ActionContext
) -> None:
    container = _serving(podman, busybox_image)
    address = _inspect(podman, container, "{{.NetworkSettings.IPAddress}}")
    poll_until(lambda: _answers(address), 30, "the container to answer")
    target = ActionTarget(container_id=container[:12])
    frozen = perform("freeze_container", target, action_context)
    assert frozen.status == ActionStatus.DONE, frozen
    assert not _answers(address, timeout_s=1.0)
    thawed = perform("thaw_container", target, action_context)
    assert thawed.status == ActionStatus.DONE, thawed
    poll_until(lambda: _answers(address), 30, "the thawed container to answer again")


# the container's own ruleset: a table with a set, a base chain and rules using both, and a
# counter that the test's traffic moves while isolated; the set holds documentation
# addresses only, so nothing the test sends is dropped by it
OWN_RULES = """
table inet app_filter {
    set blocked {
        type ipv4_addr
        elements = { 192.0.2.1, 198.51.100.7 }
    }
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr @blocked drop
        tcp dport 9999 accept comment "the app's own port"
        ip protocol tcp counter
    }
}
"""


def test_isolate_cuts_peers_keeps_allowed_and_release_restores_rules(
    podman: Podman, busybox_image: str, action_context: ActionContext
) -> None:
    """Isolated and released twice: on an empty ruleset, then on the container's own rules."""
    require(nftables_installed(), "nft (nftables) is not installed")
    isolated, peer = _serving(podman, busybox_image), _serving(podman, busybox_image)
    peer_address = _inspect(podman, peer, "{{.NetworkSettings.IPAddress}}")
    poll_until(lambda: _reaches(podman, isolated, peer_address), 30, "the peer to answer")
    netns = locate(isolated).netns
    assert nftables.without_metainfo(nftables.list_ruleset(netns)) == []
    _isolate_and_release(podman, isolated, peer_address, action_context)

    subprocess.run(
        ["nsenter", f"--net={netns}", "nft", "-f", "-"], input=OWN_RULES.encode(), check=True
    )
    own = nftables.without_metainfo(nftables.list_ruleset(netns))
    assert {"set", "chain", "rule"} <= {kind for item in own for kind in item}
    before, after = _isolate_and_release(podman, isolated, peer_address, action_context)
    assert _counted(after) > _counted(before)  # the counter moved, and was left as it was


def _counted(ruleset: dict[str, Any]) -> int:
    """Packets counted by the rules' counter statements."""
    return sum(
        expr["counter"]["packets"]
        for item in ruleset["nftables"]
        for expr in item.get("rule", {}).get("expr", [])
        if "counter" in expr
    )


def _isolate_and_release(
    podman: Podman, isolated: str, peer_address: str, action_context: ActionContext
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Isolate: the peer is cut, the allowed host still reaches it; release: the ruleset
    listed after is the one listed before, object for object (counters' values aside),
    left in place rather than restored whole."""
    address = _inspect(podman, isolated, "{{.NetworkSettings.IPAddress}}")
    gateway = _inspect(podman, isolated, "{{.NetworkSettings.Gateway}}")
    netns = locate(isolated).netns
    before = nftables.list_ruleset(netns)

    target = ActionTarget(container_id=isolated, allow=(gateway,))
    result = perform("isolate_container", target, action_context)
    assert result.status == ActionStatus.DONE, result
    assert not _reaches(podman, isolated, peer_address)
    poll_until(lambda: _answers(address), 30, "the allowed host to reach the isolated container")

    released = perform("release_container", target, action_context)
    assert released.status == ActionStatus.DONE, released
    assert "exactly as before" in released.detail, released
    after = nftables.list_ruleset(netns)
    assert nftables.comparable(after) == nftables.comparable(before)  # handles included
    poll_until(lambda: _reaches(podman, isolated, peer_address), 30, "the peer again")
    return before, after


def nftables_installed() -> bool:
    """True when the nft command is on PATH."""
    return any(Path(d, "nft").exists() for d in os.environ.get("PATH", "").split(":"))


def test_block_executable_makes_exec_fail_eperm_until_unblocked(
    podman: Podman, busybox_image: str, action_context: ActionContext
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    podman.exec(container, "sh", "-c", "cat /bin/busybox > /tmp/echo && chmod 755 /tmp/echo")
    run_tool = ("sh", "-c", "/tmp/echo ran; echo rc=$?")
    assert b"ran" in podman.exec(container, *run_tool)
    target = ActionTarget(container_id=container, path="/tmp/echo")

    result = perform("block_executable", target, action_context)
    assert result.status == ActionStatus.DONE, result
    out = podman.exec(container, *run_tool)
    assert b"ran" not in out and b"rc=126" in out, out
    assert b"rc=0" in podman.exec(container, "sh", "-c", "/bin/busybox true; echo rc=$?")

    unblocked = perform("unblock_executable", target, action_context)
    assert unblocked.status == ActionStatus.DONE, unblocked
    assert b"ran" in podman.exec(container, *run_tool)


def test_block_denies_with_eperm_on_the_host(tmp_path: Path, action_context: ActionContext) -> None:
    tool = tmp_path / "tool"
    tool.write_bytes(Path("/bin/true").read_bytes())
    tool.chmod(0o755)
    perform("block_executable", ActionTarget(path=str(tool)), action_context)
    with pytest.raises(PermissionError) as denied:
        subprocess.run([str(tool)], check=False)
    assert denied.value.errno == 1  # EPERM, not EACCES


def test_quarantine_moves_the_file_away_and_restore_puts_it_back(
    podman: Podman, busybox_image: str, action_context: ActionContext
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    podman.exec(container, "sh", "-c", "echo payload > /tmp/dropper && chmod 741 /tmp/dropper")
    inside = locate(container).root / "tmp" / "dropper"
    before = inside.stat()
    digest = hashlib.sha256(inside.read_bytes()).hexdigest()
    target = ActionTarget(container_id=container, path="/tmp/dropper")

    result = perform("quarantine_file", target, action_context)
    assert result.status == ActionStatus.DONE, result
    assert result.data["sha256"] == digest
    assert podman.exec(container, "sh", "-c", "cat /tmp/dropper; echo rc=$?").endswith(b"rc=1\n")
    kept = Path(result.data["kept"])
    assert kept.parent == action_context.quarantine_dir and kept.stat().st_mode & 0o777 == 0o400

    restored = perform("restore_file", target, action_context)
    assert restored.status == ActionStatus.DONE, restored
    after = inside.stat()
    assert podman.exec(container, "cat", "/tmp/dropper") == b"payload\n"
    assert (after.st_mode, after.st_uid, after.st_gid, after.st_mtime_ns) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
        before.st_mtime_ns,
    )
    assert not kept.exists()


@pytest.mark.parametrize(
    ("name", "target", "error"),
    [
        ("explode", ActionTarget(pid=1), "unknown response action 'explode'"),
        ("kill_container", ActionTarget(), "kill_container needs a target container_id"),
        ("kill_container", ActionTarget(container_id="ab" * 32), "no running container"),
        ("freeze_container", ActionTarget(container_id="x; rm"), "is not 6-64 hex digits"),
        ("kill_process", ActionTarget(pid=2**22 + 7), "no process"),
        ("kill_process", ActionTarget(pid=1), "refusing to kill process 1"),
        ("quarantine_file", ActionTarget(path="relative"), "must be absolute"),
        ("isolate_container", ActionTarget(container_id="ab" * 32, allow=("x",)), "not an IP"),
    ],
    ids=[
        "unknown",
        "no-target",
        "no-container",
        "bad-id",
        "no-process",
        "init",
        "relative",
        "bad-allow",
    ],
)
def test_errors_are_one_line_results(
    name: str, target: ActionTarget, error: str, action_context: ActionContext
) -> None:
    result = perform(name, target, action_context)
    assert result.status == ActionStatus.FAILED
    assert error in result.error and "\n" not in result.error
