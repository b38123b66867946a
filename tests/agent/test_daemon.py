"""The whole agent against the real kernel, real containers and the real platform."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from pathlib import Path

import pytest

from stockade.agent import Agent, AgentConfig, AgentError
from stockade.model import Alert, Container, Event, Host, Process
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until

SHELL_RULE = "Terminal shell in container"


def test_refuses_to_run_unenrolled_without_a_token(tmp_path: Path) -> None:
    agent = Agent(AgentConfig(state_dir=tmp_path, server_url="https://127.0.0.1:1"))
    assert not Agent.is_enrolled(tmp_path)
    with pytest.raises(AgentError, match="--enroll"):
        agent.run(threading.Event())


def test_own_activity_is_dropped_and_alerts_are_stamped() -> None:
    from stockade.agent import pipeline
    from stockade.agent.detection import agent_detectors

    box = Container(id="ab" * 32, name="c")
    events = [
        Event(
            type="execve", ts=1, proc=Process(pid=7, name="sh", argv=("sh", "-i")), container=box
        ),
        Event(
            type="execve", ts=2, proc=Process(pid=8, name="sh", argv=("sh", "-i")), container=box
        ),
    ]
    kept = pipeline.without_own_activity(events, own_pid=7)
    assert [e.proc.pid for e in kept] == [8]
    alerts: list[Alert] = pipeline.detect(kept, agent_detectors(), Host(id="h", hostname="node"))
    assert [(a.hostname, a.host_id, a.container_id) for a in alerts] == [("node", "h", "ab" * 32)]


@pytest.mark.root
@pytest.mark.podman
@pytest.mark.server
@pytest.mark.ebpf
def test_agent_reports_events_and_a_container_shell_alert(
    platform: PlatformRunner, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    agent = Agent(platform.agent_config(state, scan_images=True))
    with AgentRunner(agent):
        subprocess.run(["/bin/sleep", "0.31"], check=True)
        shell = podman.popen(busybox_image, "sh", "-i", name="stockade-agent-shell")
        out, _ = shell.communicate(b"echo hi\nsleep 1\nexit\n", timeout=60)
        assert b"hi" in out
        with contextlib.closing(platform.login()) as admin:
            poll_until(
                lambda: admin.get("/api/v1/alerts", params={"rule": SHELL_RULE}).json()["items"],
                30,
                "the platform to store the container shell alert",
            )
    assert agent.spool is not None and agent.transport is not None
    # The agent spools the host's events until it stops and drains for at most 2 s; on a
    # busy host some may stay spooled for its next start (test_transport and the no-loss
    # test prove those arrive once): the platform acked some, not necessarily all.
    acked = agent.transport.platform_acked
    assert acked is not None and 0 < acked <= agent.spool.last_seq
    agent_id = agent.transport.agent_id
    platform.stop()
    events = platform.stored_events(agent_id)
    seqs = [e.seq for e in events]
    assert len(seqs) == len(set(seqs)) > 0
    marker = [e for e in events if e.type == "execve" and e.proc.argv == ("/bin/sleep", "0.31")]
    assert len(marker) == 1 and marker[0].container.is_host and marker[0].ancestors
    assert marker[0].proc.cgroup_id and marker[0].host_id
    assert SHELL_RULE in platform.stored_alert_rules(agent_id)
    record = platform.agent_record(agent_id)
    assert record is not None and record.sensor is not None  # a heartbeat arrived
    assert record.sensor["source"] == "ebpf" and record.version  # first of the default chain
    platform.start()
    assert Agent.is_enrolled(state)
