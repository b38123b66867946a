"""FIM on the real kernel: fanotify names the writer (host and podman container), sees
creations, deletions, renames and chmods live, and a change made while the monitor was
stopped is found when it starts again."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
from pathlib import Path

import pytest

from stockade.host.fim_monitor import FimMonitor
from stockade.host.fim_policy import FimPolicy
from stockade.model import Alert
from tests.support.podman import Podman
from tests.support.polling import poll_until


class _Running:
    """A monitor polled on its own thread, collecting its alerts."""

    def __init__(self, monitor: FimMonitor) -> None:
        self.alerts: list[Alert] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=monitor.run, args=(self._stop, self._emit))
        self._thread.start()
        poll_until(self._started.is_set, 60, "the FIM monitor's first scan")

    def _emit(self, alerts: list[Alert]) -> None:
        with self._lock:
            self.alerts.extend(alerts)
        self._started.set()

    def for_path(self, path: str) -> list[Alert]:
        with self._lock:
            return [a for a in self.alerts if a.output_fields["fim.path"] == path]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.mark.root
def test_host_write_raises_one_alert_naming_the_process(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    target = watched / "app.conf"
    target.write_text("debug = false\n")
    policy = FimPolicy(paths=(str(watched),), containers=False)
    running = _Running(FimMonitor(policy, tmp_path / "state", "host-1"))
    try:
        writer = subprocess.Popen(
            ["/bin/sh", "-c", f"echo 'debug = true' > {target}; read _"], stdin=subprocess.PIPE
        )
        alerts = poll_until(lambda: running.for_path(str(target)), 10, "the host write's alert")
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(10)
    finally:
        running.stop()
    assert len(running.for_path(str(target))) == 1
    fields = alerts[0].output_fields
    assert fields["proc.pid"] == writer.pid and fields["proc.exepath"] == "/usr/bin/dash"
    assert fields["container.id"] == "host" and fields["fim.detected_by"] == "realtime"
    assert "-debug = false" in str(fields["fim.diff"]) and "+debug = true" in str(
        fields["fim.diff"]
    )


@pytest.mark.root
@pytest.mark.podman
def test_container_write_raises_one_alert_naming_process_and_container(
    tmp_path: Path, podman: Podman, busybox_image: str
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    policy = FimPolicy(paths=("/etc", str(tmp_path / "none")))
    running = _Running(FimMonitor(policy, tmp_path / "state", "host-1"))
    try:
        podman.exec(
            container, "sh", "-c", "echo 'evil:x:0:0::/:/bin/sh' >> /etc/passwd; sleep 1; true"
        )
        alerts = poll_until(
            lambda: [a for a in running.for_path("/etc/passwd") if a.container_id == container],
            15,
            "the container write's alert",
        )
    finally:
        running.stop()
    assert len(alerts) == 1
    fields = alerts[0].output_fields
    assert fields["container.id"] == container[:12]
    assert fields["proc.exepath"] == "/bin/busybox" and "sh -c" in str(fields["proc.cmdline"])
    assert "+evil:x:0:0::/:/bin/sh" in str(fields["fim.diff"])


@pytest.mark.root
def test_change_while_stopped_is_found_at_restart(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "keep").write_text("same\n")
    (watched / "edit").write_text("PermitRootLogin no\n")
    (watched / "gone").write_text("bye\n")
    policy = FimPolicy(paths=(str(watched),), containers=False)
    first = FimMonitor(policy, tmp_path / "state", "host-1")
    assert first.start() == []
    first.close()
    (watched / "edit").write_text("PermitRootLogin yes\n")
    (watched / "gone").unlink()
    (watched / "new").write_text("backdoor\n")
    (watched / "keep").chmod(0o666)
    second = FimMonitor(policy, tmp_path / "state", "host-1")
    alerts = {str(a.output_fields["fim.path"])[len(str(watched)) :]: a for a in second.start()}
    second.close()
    assert set(alerts) == {"/edit", "/gone", "/new", "/keep"}
    assert alerts["/keep"].output_fields["fim.changed"] == ["mode"]
    assert alerts["/gone"].rule == "File integrity: watched file deleted"
    assert "+PermitRootLogin yes" in str(alerts["/edit"].output_fields["fim.diff"])
    assert all(a.output_fields["fim.detected_by"] == "rescan" for a in alerts.values())


@pytest.mark.root
def test_creation_deletion_chmod_and_rename_are_seen_live(tmp_path: Path) -> None:
    """Not only writes: each namespace or attribute change raises its alert as it happens."""
    watched = tmp_path / "watched"
    (watched / "sub").mkdir(parents=True)
    (watched / "victim").write_text("stay\n")
    (watched / "locked").write_text("secret\n")
    outside = tmp_path / "staging.conf"
    outside.write_text("moved in\n")
    policy = FimPolicy(paths=(str(watched), str(tmp_path / "later" / ".ssh")), containers=False)
    policy = dataclasses.replace(policy, rescan_interval_s=3600)  # live events only
    running = _Running(FimMonitor(policy, tmp_path / "state", "host-1"))
    try:
        (watched / "victim").unlink()
        (watched / "locked").chmod(0o666)
        os.rename(outside, watched / "sub" / "dropped.conf")
        (watched / "new-dir").mkdir()
        (watched / "new-dir" / "inside").write_text("x\n")
        (tmp_path / "later" / ".ssh").mkdir(parents=True)
        keys = tmp_path / "later" / ".ssh" / "authorized_keys"
        keys.write_text("ssh-ed25519 AAAA attacker\n")
        wanted = {
            str(watched / "victim"): "File integrity: watched file deleted",
            str(watched / "locked"): None,
            str(watched / "sub" / "dropped.conf"): None,
            str(watched / "new-dir" / "inside"): None,
            str(keys): None,
        }
        for path in wanted:
            poll_until(lambda p=path: running.for_path(p), 15, f"the live alert for {path}")  # type: ignore[misc]
    finally:
        running.stop()
    for path, rule in wanted.items():
        (alert,) = running.for_path(path)
        assert alert.output_fields["fim.detected_by"] == "realtime", path
        assert alert.output_fields["proc.pid"] == os.getpid(), path
        if rule is not None:
            assert alert.rule == rule
    assert running.for_path(str(watched / "locked"))[0].output_fields["fim.changed"] == ["mode"]


@pytest.mark.root
@pytest.mark.podman
def test_a_file_dropped_and_one_deleted_in_a_container_are_seen_live(
    tmp_path: Path, podman: Podman, busybox_image: str
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    policy = FimPolicy(paths=("/etc", str(tmp_path / "none")))
    policy = dataclasses.replace(policy, rescan_interval_s=3600)
    running = _Running(FimMonitor(policy, tmp_path / "state", "host-1"))
    try:
        script = "rm /etc/passwd; echo x > /tmp/d; mv /tmp/d /etc/dropped"
        podman.exec(container, "sh", "-c", script)
        for path in ("/etc/passwd", "/etc/dropped"):
            poll_until(
                lambda p=path: [a for a in running.for_path(p) if a.container_id == container],  # type: ignore[misc]
                15,
                f"the container's live alert for {path}",
            )
    finally:
        running.stop()
    (removed,) = [a for a in running.for_path("/etc/passwd") if a.container_id == container]
    assert removed.rule == "File integrity: watched file deleted"
    assert removed.output_fields["fim.detected_by"] == "realtime"
    assert int(str(removed.output_fields["proc.pid"])) > 0  # the shell may be gone by now
