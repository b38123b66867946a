"""evt.cpu and the thread.* CPU fields on real kernel events in a real container: the eBPF
sensor, this host's context stage, then what the rule engine reads."""

from __future__ import annotations

import os
import uuid

import pytest

from stockade.sensor.bpf import BpfSource
from tests.support.fields import field_value
from tests.support.podman import Podman
from tests.support.polling import poll_until
from tests.support.sensor import Collector

pytestmark = [pytest.mark.root, pytest.mark.ebpf, pytest.mark.podman]
EXECS = ("execve", "execveat")


def test_cpu_fields_of_an_exec_in_a_container(
    live: Collector, podman: Podman, busybox_image: str
) -> None:
    name = f"stockade-cpu-{uuid.uuid4().hex[:8]}"
    podman.run_detached(busybox_image, "sleep", "600", name=name)
    live.source.poll(0)
    podman.cmd("exec", "-d", name, "/bin/sleep", "5")
    # busybox's own exec: runc first execs its sealed copy of itself (named "/"), which is
    # gone before /proc can be read, so it has no CPU figures
    event = live.first(
        lambda e: e.type in EXECS and e.container.name == name and e.proc.exepath == "/bin/busybox",
        20,
    )

    cpu = field_value(event, "evt.cpu")
    assert isinstance(cpu, int) and 0 <= cpu < (os.cpu_count() or 1)
    # Falco gives 0 outside scheduler switch events, which the sensor does not report
    assert field_value(event, "thread.exectime") == field_value(event, "thread.totexectime") == 0
    cpu_fields = ("thread.cpu.user", "thread.cpu.system", "thread.cpu")
    user, system, total = (field_value(event, f) for f in cpu_fields)
    assert isinstance(user, float) and isinstance(system, float) and isinstance(total, float)
    assert 0 <= user <= 100 and 0 <= system <= 100
    assert total == min(user + system, 100.0)


def test_every_event_of_the_sensor_says_its_cpu(source: BpfSource) -> None:
    source.poll(0)
    with open("/dev/null", "rb"):
        pass
    events = poll_until(lambda: source.poll(0.05) or None, 20, "events")
    assert all(0 <= e.cpu < (os.cpu_count() or 1) for e in events)
