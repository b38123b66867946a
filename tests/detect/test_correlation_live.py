"""Scenarios 17 and 18, from kernel events alone: a port scan from a container and SSH
brute force against a real sshd in a container, each after its benign twin, under the
real eBPF sensor, judged by Stockade's default correlations (docs/detections.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from stockade.detect import DetectorConfig
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.rules import RulesDetector
from stockade.model import Alert, Event
from tests.support.ci import skip_or_fail
from tests.support.live import LivePipeline, alerts_for
from tests.support.podman import Podman
from tests.support.polling import poll_until
from tests.support.ssh_image import SERVER_COMMAND, build_ssh_image, missing_programs

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.podman]

# The benign twin: a client fetching a page three times from a server on the container's
# loopback (its first tries, before the server is up, are refused: the same port again).
BENIGN_CLIENT = (
    "(cd /tmp && exec python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1) & "
    "curl -s --retry 50 --retry-connrefused --retry-delay 0 -o /dev/null http://127.0.0.1:8000/; "
    "for i in 1 2; do curl -s -o /dev/null http://127.0.0.1:8000/; done; kill %1"
)
# nmap's connect scan of ports 1-200 (no raw sockets: a container has no NET_RAW).
PORT_SCAN = ("nmap", "-sT", "-Pn", "-n", "--unprivileged", "-p", "1-200", "127.0.0.1")
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5"
# Password guesses by ssh itself, fed by an askpass program: one connection per guess.
GUESSES = (
    "printf '#!/bin/sh\\necho guess-$RANDOM\\n' > /tmp/guess && chmod +x /tmp/guess && "
    "for i in $(seq 15); do SSH_ASKPASS=/tmp/guess SSH_ASKPASS_REQUIRE=force setsid -w "
    f"ssh {SSH_OPTIONS} -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 "
    "root@127.0.0.1 true </dev/null; done"
)
# Falco's rules (stable and incubating) on the attacks: none counts events. nmap is a
# network tool; on every SSH connection (the twin's too) sshd's re-executed child has the
# socket as stdin/stdout, which two single-event rules flag.
FALCO_ON_SCAN = {"Launch Suspicious Network Tool in Container"}
FALCO_ON_GUESSES = {
    "Redirect STDOUT/STDIN to Network Connection in Container",
    "Unexpected UDP Traffic",
}
KEY_LOGIN = f"ssh {SSH_OPTIONS} -o BatchMode=yes root@127.0.0.1 id"


def scenario_alerts(events: list[Event], container_id: str, rule: str) -> list[Alert]:
    """The default correlation `rule`'s alerts on `events` of one container (fresh state)."""
    detector = CorrelationDetector.from_config(DetectorConfig())
    return [a for a in alerts_for(detector, events, container_id) if a.rule == rule]


def assert_origin(alert: Alert, container_id: str, image: str) -> None:
    """The alert names the container (full and short id) and its image."""
    assert alert.priority == "Warning"
    assert alert.container_id == container_id
    assert alert.output_fields["container.id"] == container_id[:12]
    assert alert.output_fields["container.image.repository"] == image.rsplit(":", 1)[0]


def test_17_port_scan_from_a_container(
    podman: Podman,
    tools_image: str,
    live: LivePipeline,
    default_rules: RulesDetector,
    falco_rules: RulesDetector,
) -> None:
    name = f"stockade-scenario-17-{uuid.uuid4().hex[:6]}"
    cid = podman.run_detached(tools_image, "sleep", "600", name=name)
    try:
        live.clear()
        podman.cmd("exec", name, "bash", "-c", BENIGN_CLIENT, timeout=60)
        benign = live.sync()
        live.clear()
        podman.cmd("exec", name, *PORT_SCAN, timeout=120)
        attack = live.sync()
    finally:
        podman.remove(name)
    rule = "Port scan from container"
    connects = [e for e in benign if e.type == "connect" and e.container.id == cid]
    assert connects, "the benign client's connects were not seen"
    assert scenario_alerts(benign, cid, rule) == []
    assert [a.output for a in alerts_for(default_rules, benign, cid)] == []
    fired = scenario_alerts(attack, cid, rule)
    tried = {e.fd.dport for e in attack if e.type == "connect" and e.fd is not None}
    assert len(fired) == 1, ([a.output for a in fired], sorted(tried))  # one per window
    assert_origin(fired[0], cid, tools_image)
    assert fired[0].output_fields["proc.name"] == "nmap"
    assert fired[0].output_fields["fd.sip"] == "127.0.0.1"
    assert fired[0].output_fields["corr.count"] == 20
    assert {a.rule for a in alerts_for(falco_rules, attack, cid)} == FALCO_ON_SCAN


@pytest.fixture(scope="module")
def ssh_image(podman: Podman, debian_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Debian image with the host's sshd, ssh and ssh-keygen."""
    if reason := missing_programs():
        skip_or_fail(reason)
    return build_ssh_image(podman, debian_image, tmp_path_factory.mktemp("ssh-image"))


@pytest.fixture
def ssh_pair(podman: Podman, ssh_image: str) -> Iterator[tuple[str, str]]:
    """A container running sshd and a client container in its network namespace (the
    traffic stays on their shared loopback); yields (server id, client name)."""
    suffix = uuid.uuid4().hex[:6]
    server, client = f"stockade-sshd-{suffix}", f"stockade-ssh-client-{suffix}"
    server_id = podman.run_detached(ssh_image, *SERVER_COMMAND, name=server)
    try:
        poll_until(
            lambda: (
                " 00000000:0016 00000000:0000 0A "
                in podman.exec(server, "cat", "/proc/net/tcp", check=False).decode()
            ),
            30,
            "sshd listening on port 22",
        )
        podman.run_detached(
            ssh_image, "sleep", "600", name=client, extra=("--network", f"container:{server}")
        )
        yield server_id, client
    finally:
        podman.remove(client)  # first: it shares the server's network namespace
        podman.remove(server)


def test_18_ssh_brute_force_against_a_container(
    podman: Podman,
    ssh_image: str,
    ssh_pair: tuple[str, str],
    live: LivePipeline,
    default_rules: RulesDetector,
    falco_rules: RulesDetector,
) -> None:
    server_id, client = ssh_pair
    key = podman.exec(
        client, "bash", "-c", "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 && "
        "cat /root/.ssh/id_ed25519.pub",
    )  # fmt: skip
    podman.cmd("exec", "-i", server_id, "bash", "-c", "cat > /root/.ssh/authorized_keys", input=key)
    live.clear()
    login = podman.exec(client, "bash", "-c", KEY_LOGIN)
    assert b"uid=0(root)" in login
    benign = live.sync()
    live.clear()
    podman.cmd("exec", client, "bash", "-c", GUESSES, check=False, timeout=120)
    attack = live.sync()
    rule = "SSH brute force against container"
    accepts = [e for e in benign if e.type.startswith("accept") and e.container.id == server_id]
    assert accepts, "sshd's accept of the benign login was not seen"
    assert scenario_alerts(benign, server_id, rule) == []
    assert [a.output for a in alerts_for(default_rules, benign, server_id)] == []
    fired = scenario_alerts(attack, server_id, rule)
    accepted = [e.fd.name for e in attack if e.type.startswith("accept") and e.fd is not None]
    assert len(fired) == 1, ([a.output for a in fired], accepted)
    assert_origin(fired[0], server_id, ssh_image)
    assert fired[0].output_fields["fd.cip"] == "127.0.0.1"
    assert fired[0].output_fields["proc.name"] == "sshd"
    assert {a.rule for a in alerts_for(falco_rules, attack, server_id)} == FALCO_ON_GUESSES
    assert {a.rule for a in alerts_for(falco_rules, benign, server_id)} == FALCO_ON_GUESSES
