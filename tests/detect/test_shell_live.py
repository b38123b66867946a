"""The default "Terminal shell in container" rule on real kernel events from real podman
containers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from stockade.agent.detection import agent_detectors
from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.podman import PodmanRuntime
from stockade.model import Alert, Event
from stockade.sensor import procfs
from stockade.sensor.proc_connector import ProcConnectorSource
from tests.support.podman import Podman
from tests.support.polling import poll_until


class Live:
    """Kernel events through the context stage, enriched as they arrive."""

    def __init__(self) -> None:
        self.source = ProcConnectorSource()
        tree = ProcessTree()
        tree.seed(procfs.scan())
        self.stage = ContextStage(tree, ContainerResolver([PodmanRuntime()]))
        self.events: list[Event] = []

    def pump_until(self, done: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
        """Poll and enrich until `done()` is true; fails naming `what` at the deadline."""

        def pumped() -> bool:
            self.events += [self.stage.enrich(e) for e in self.source.poll(0.05)]
            return done()

        poll_until(pumped, timeout_s, what, interval=0)

    def sync(self) -> None:
        """Pump until the exit of a process started now: every earlier event is read by then."""
        marker = subprocess.Popen(["true"])
        marker.wait()
        self.pump_until(
            lambda: any(e.type == "procexit" and e.proc.pid == marker.pid for e in self.events),
            f"the exit of the marker process {marker.pid}",
        )

    def alerts(self, container_name: str | None = None, pid: int | None = None) -> list[Alert]:
        """Alerts for the events of one container or process (other tests may run too)."""
        detectors = agent_detectors()
        mine = [
            e
            for e in self.events
            if (container_name is not None and e.container.name == container_name)
            or (pid is not None and e.proc.pid == pid)
        ]
        alerts = [a for d in detectors for e in mine for a in d.inspect(e)]
        return [a for a in alerts if a.rule == "Terminal shell in container"]


@pytest.fixture
def live() -> Iterator[Live]:
    pipeline = Live()
    pipeline.source.start()
    yield pipeline
    pipeline.source.stop()


def _wait_line(process: subprocess.Popen[bytes], live: Live) -> None:
    """Pump events until the container's shell printed "ready" (its banner comes first)."""
    assert process.stdout is not None

    def ready() -> bool:
        return any(e.type == "execve" and e.proc.name == "sh" for e in live.events)

    live.pump_until(ready, "the container shell's exec")
    for line in iter(process.stdout.readline, b""):
        if line.strip().endswith(b"ready"):
            return
    raise AssertionError(f"the shell ended early (exit {process.wait(10)})")


@pytest.mark.root
@pytest.mark.podman
def test_fires_for_sh_i_from_a_pipe_in_a_container(
    podman: Podman, busybox_image: str, live: Live
) -> None:
    shell = podman.popen(busybox_image, "sh", "-i", name="stockade-detect-shell")
    assert shell.stdin is not None
    shell.stdin.write(b"echo ready\n")
    shell.stdin.flush()
    _wait_line(shell, live)
    shell.stdin.write(b"exit\n")
    shell.stdin.close()
    shell.wait(30)
    alerts = live.alerts("stockade-detect-shell")
    assert len(alerts) == 1
    (alert,) = alerts
    assert len(alert.container_id) == 64
    assert alert.output_fields["container.name"] == "stockade-detect-shell"
    assert alert.output_fields["proc.cmdline"] == "sh -i"
    assert alert.output_fields["container.image.repository"] == busybox_image.rsplit(":", 1)[0]


@pytest.mark.root
@pytest.mark.podman
def test_quiet_for_sh_c_in_a_container_and_for_a_host_shell(
    podman: Podman, busybox_image: str, live: Live
) -> None:
    quiet = podman.popen(busybox_image, "sh", "-c", "sleep 1; true", name="stockade-detect-c")
    host = subprocess.Popen(
        ["sh", "-i"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    host.communicate(b"true\nexit\n", timeout=10)
    live.pump_until(lambda: quiet.poll() is not None, "the end of the sh -c container")
    live.sync()
    assert quiet.returncode == 0
    assert any(e.type == "execve" and e.proc.pid == host.pid for e in live.events)
    assert any(
        e.type == "execve" and e.proc.name == "sh" and not e.container.is_host for e in live.events
    )
    assert live.alerts("stockade-detect-c", host.pid) == []
