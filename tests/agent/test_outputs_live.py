"""The agent hands its alerts to its own outputs too: a real exec, a real syslog listener."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stockade.agent import Agent
from stockade.outputs.settings import OutputSettings, OutputsQueue, SyslogOutput
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until
from tests.support.syslog_receiver import SyslogReceiver

RULE = """
- rule: Marker sleep
  desc: the test's own exec
  condition: evt.type = execve and proc.name = sleep and proc.args contains "0.417"
  output: "marker sleep ran (proc.cmdline=%proc.cmdline user.name=%user.name)"
  priority: ERROR
  tags: [test]
"""


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.server
def test_agent_alerts_reach_its_syslog_output(platform: PlatformRunner, tmp_path: Path) -> None:
    rules = tmp_path / "marker.yaml"
    rules.write_text(RULE)
    receiver = SyslogReceiver("tcp").start()
    syslog = SyslogOutput(enabled=True, host="127.0.0.1", port=receiver.port, protocol="tcp")
    outputs = OutputSettings(syslog_output=syslog, outputs_queue=OutputsQueue(retry_initial=0.05))
    config = platform.agent_config(tmp_path / "agent", rules=(rules,), outputs=outputs)
    try:
        with AgentRunner(Agent(config)):
            subprocess.run(["/bin/sleep", "0.417"], check=True)
            poll_until(
                lambda: [m for m in receiver.received() if m.cef and m.cef.name == "Marker sleep"],
                30,
                "the marker alert at the syslog listener",
            )
    finally:
        receiver.stop()
    message = next(m for m in receiver.received() if m.cef and m.cef.name == "Marker sleep")
    assert message.severity == 3  # error
    assert message.cef is not None and "sleep 0.417" in message.cef.extension["msg"]
