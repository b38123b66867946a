"""Process details and names on real kernel events: the eBPF sensor, then the context stage
this host's agent uses, then the fields Falco's rules read."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stockade.rules import load_rules
from tests.support.fields import field_value
from tests.support.podman import Podman
from tests.support.sensor import Collector

pytestmark = [pytest.mark.root, pytest.mark.ebpf]
EXECS = ("execve", "execveat")
WAIT_S = 20  # enriching each event reads /proc: a loaded machine needs the time


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_proc_env_comes_from_the_process_environment(live: Collector) -> None:
    token = uuid.uuid4().hex
    sleeper = subprocess.Popen(["/bin/sleep", "3"], env={"STOCKADE_MARK": token, "LANG": "C"})
    try:
        event = live.first(lambda e: e.type in EXECS and e.proc.pid == sleeper.pid, WAIT_S)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert field_value(event, "proc.env") == f"STOCKADE_MARK={token} LANG=C"
    assert field_value(event, "proc.env", "STOCKADE_MARK") == token
    assert field_value(event, "proc.stdin.type") is not None
    limit = field_value(event, "proc.fdlimit")
    assert isinstance(limit, int) and limit > 0


def test_memfd_exec_has_falcos_exepath_and_name(live: Collector) -> None:
    code = (
        "import os\n"
        "fd = os.memfd_create('stockpayload', 0)\n"
        "os.write(fd, open('/bin/sleep', 'rb').read())\n"
        "os.execve(f'/proc/self/fd/{fd}', ['stockpayload', '2'], {})\n"
    )
    child = _python(code)
    try:
        event = live.first(
            lambda e: e.type in EXECS and e.proc.pid == child.pid and e.proc.exe_from_memfd, WAIT_S
        )
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()
    finally:
        child.kill()
        child.wait()
    assert field_value(event, "proc.exepath") == "memfd:stockpayload"
    assert field_value(event, "proc.is_exe_from_memfd") is True
    assert field_value(event, "proc.exe") == "stockpayload"
    # Falco's proc.name is the kernel's comm: the last part of the path the exec was given
    assert field_value(event, "proc.name") == comm


def test_user_follows_setuid_and_the_exec_after_it(live: Collector) -> None:
    code = (
        "import os, time\nos.setuid(1)\ntime.sleep(0.3)\nos.execv('/bin/sleep', ['sleep', '2'])\n"
    )
    child = _python(code)
    try:
        changed = live.first(lambda e: e.type == "setuid" and e.proc.pid == child.pid, WAIT_S)
        execed = live.first(
            lambda e: e.type in EXECS and e.proc.pid == child.pid and e.proc.name == "sleep", WAIT_S
        )
    finally:
        child.kill()
        child.wait()
    host_name = _passwd_name(Path("/etc/passwd"), 1)
    # the setuid event itself is judged with the credentials the call left (Falco's exit event)
    assert (field_value(changed, "user.uid"), field_value(changed, "user.name")) == (1, host_name)
    assert (field_value(execed, "user.uid"), field_value(execed, "user.name")) == (1, host_name)


def _passwd_name(passwd: Path, uid: int) -> str:
    for line in passwd.read_text().splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2] == str(uid):
            return parts[0]
    raise AssertionError(f"uid {uid} not in {passwd}")


def test_directory_traversal_rule_fires_on_the_raw_path(
    live: Collector, tmp_path: Path, corpus: Path
) -> None:
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    depth = len(workdir.parts) - 1
    raw = "../" * depth + "etc/hostname"
    reader = subprocess.run(["/bin/cat", raw], cwd=workdir, capture_output=True, check=True)
    event = live.first(
        lambda e: e.type == "openat" and e.fd is not None and e.fd.nameraw == raw, WAIT_S
    )
    assert reader.stdout
    assert field_value(event, "fd.name") == "/etc/hostname"
    assert field_value(event, "fd.nameraw") == raw
    ruleset = load_rules([corpus / "falco/rules/falco_rules.yaml"])
    alerts = [a for a in ruleset.evaluate(event) if a.rule.startswith("Directory traversal")]
    assert alerts, "Directory traversal monitored file read did not fire"
    assert alerts[0].output_fields["fd.nameraw"] == raw
    assert alerts[0].host_id == "test-host"


@pytest.mark.podman
def test_user_name_comes_from_the_containers_passwd(
    live: Collector, podman: Podman, busybox_image: str
) -> None:
    name = f"stockade-users-{uuid.uuid4().hex[:8]}"
    podman.run_detached(busybox_image, "sleep", "600", name=name)
    podman.cmd("exec", name, "sh", "-c", "echo stockuser:x:4321:4321::/home:/bin/sh >> /etc/passwd")
    podman.cmd("exec", "-d", "--user", "4321", name, "/bin/sleep", "5")
    event = live.first(
        lambda e: e.type in EXECS and e.container.name == name and e.proc.euid == 4321, WAIT_S
    )
    assert field_value(event, "user.uid") == 4321
    assert field_value(event, "user.name") == "stockuser"
    assert field_value(event, "user.homedir") == "/home"
    assert field_value(event, "user.shell") == "/bin/sh"
    ruleset = load_rules(
        [],
        sources=[
            (
                "probe.yaml",
                "- rule: Probe\n  desc: d\n  condition: evt.type = execve and user.uid = 4321\n"
                "  output: ran %proc.name\n  priority: INFO\n",
            )
        ],
    )
    (alert,) = ruleset.evaluate(event)
    assert alert.output_fields["container.name"] == name
    assert alert.output_fields["container.id"] == event.container.short_id
    assert alert.output_fields["container.image.repository"] == busybox_image.rsplit(":", 1)[0]
    assert alert.output_fields["container.image.tag"] == busybox_image.rsplit(":", 1)[1]
    assert alert.output.endswith(f"container_id={event.container.short_id} container_name={name}")


@pytest.mark.podman
def test_falcos_rule_alert_in_a_container_carries_the_container(
    live: Collector, podman: Podman, busybox_image: str, corpus: Path
) -> None:
    name = f"stockade-traversal-{uuid.uuid4().hex[:8]}"
    podman.run_detached(busybox_image, "sleep", "600", name=name)
    podman.exec(name, "mkdir", "-p", "/tmp/a/b")
    podman.cmd("exec", "-w", "/tmp/a/b", name, "cat", "../../../etc/passwd")
    event = live.first(
        lambda e: (
            e.type == "openat"
            and e.container.name == name
            and e.fd is not None
            and e.fd.nameraw == "../../../etc/passwd"
        ),
        WAIT_S,
    )
    ruleset = load_rules([corpus / "falco/rules/falco_rules.yaml"])
    (alert,) = [a for a in ruleset.evaluate(event) if a.rule.startswith("Directory traversal")]
    repository, tag = busybox_image.rsplit(":", 1)
    assert alert.output_fields["fd.name"] == "/etc/passwd"
    assert alert.output_fields["container.id"] == event.container.short_id
    assert alert.output_fields["container.name"] == name
    assert alert.output_fields["container.image.repository"] == repository
    assert alert.output_fields["container.image.tag"] == tag
    assert f"container_id={event.container.short_id} container_name={name}" in alert.output
