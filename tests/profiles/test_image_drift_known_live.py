"""Drift against an image the platform already had a scan of (a user's): the agent lists the
image's executables itself, so an image binary replaced in place in its layer before any
container ran it is refused as drift in every container of the image, after a restart
too, while an unchanged one runs, also once copied up by chmod. A binary replaced in its
layer before the agent's pass makes podman refuse the image: that is a Critical alert, and
the named binary is drift (alerted in monitor, refused in protect) while the others run.
Real podman, real platform, the agent's real scan worker and exec guard."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

import msgspec
import pytest

from stockade.agent.enroll import Credentials
from stockade.agent.image_integrity import INTEGRITY_RULE, IntegrityAlerts
from stockade.agent.image_scan_runner import HttpScanPlatform, SubprocessScanner
from stockade.agent.image_scans import ImageScanScheduler
from stockade.model import Alert, Event, Process
from stockade.model.entities import Container
from stockade.model.inventory import ScanResult
from stockade.profiles.detector import DRIFT_RULE, ProfileDetector
from stockade.profiles.groups import workload_group
from stockade.profiles.guard import ExecGuard
from stockade.profiles.imagefiles import ImageFiles, image_file, root_overlay
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from stockade.profiles.scanned_files import IMAGE_FILES_DIR, ScannedExecutables, file_of
from stockade.profiles.tampered_images import TamperedImages
from stockade.profiles.verdict import ExecVerdict
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server]
TOOL = "/opt/drift/tool/true"  # replaced in place in its layer
OTHER = "/opt/drift/other/true"  # left as the image has it
ALLOWED = (TOOL, OTHER, "/bin/busybox", "/bin/sleep", "/bin/chmod")


def _image(podman: Podman, base: str, workdir: Path) -> tuple[str, str, str]:
    """`base` plus one layer of its own (a marker makes it unique, so no other image
    shares the layer this test changes) holding TOOL and OTHER, both busybox run as
    its `true`; returns the image's name, id and digest."""
    busybox = shutil.which("busybox")
    assert busybox is not None
    files = workdir / "drift"
    files.mkdir(parents=True)
    for path in (TOOL, OTHER):
        copy = files / Path(path).relative_to("/opt/drift")
        copy.parent.mkdir()
        shutil.copy(busybox, copy)
    (files / "marker").write_text(uuid.uuid4().hex)
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY drift /opt/drift/\n")
    name = f"localhost/stockade-test-known-drift:{uuid.uuid4().hex[:8]}"
    podman.cmd("build", "-t", name, str(workdir), timeout=600)
    found = podman.cmd("image", "inspect", "-f", "{{.Id}} {{.Digest}}", name).stdout.split()
    return name, found[0].decode(), found[1].decode()


def _container(podman: Podman, image: str, image_id: str, digest: str) -> Container:
    cid = podman.run_detached(image, "sleep", "600")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    return Container(
        id=cid,
        name=cid[:12],
        runtime="podman",
        image=image,
        image_repository=image.split(":")[0],
        image_id=image_id,
        image_digest=digest,
        pid=pid,
        complete=True,
    )


def _agent_credentials(platform: PlatformRunner, directory: Path) -> Credentials:
    agent = platform.enroll(directory)
    return Credentials(
        agent.agent_id, directory / "agent.key", agent.cert_path, platform.platform.ca_path
    )


def _run_scan_worker(
    state: Path,
    platform: PlatformRunner,
    creds: Credentials,
    containers: list[Container],
    alerts: list[Alert] | None = None,
) -> ImageScanScheduler:
    """One agent run's scan worker offered these containers' execs, until it is idle;
    integrity alerts go to `alerts`."""
    scanner = SubprocessScanner(state / "scan-cache", None, state / IMAGE_FILES_DIR)
    tampered = IntegrityAlerts((alerts if alerts is not None else []).extend, "host")
    scheduler = ImageScanScheduler(
        state, HttpScanPlatform(platform.agent_url, creds), scanner, on_integrity=tampered
    )
    scheduler.start()
    try:
        events = [
            Event(type="execve", ts=1, proc=Process(pid=c.pid), container=c) for c in containers
        ]
        scheduler.offer(events)
        poll_until(scheduler.idle, 300, "the image's executables to be listed", interval=0.2)
    finally:
        scheduler.stop()
    return scheduler


def _drained(detector: ProfileDetector) -> list[Alert]:
    """The refusal alerts the detector holds for its next event."""
    host = Event(type="execve", ts=1, proc=Process(pid=1), container=Container.host())
    return detector.inspect(host)


def test_an_image_the_platform_knew_is_cross_checked_against_its_layers(
    platform: PlatformRunner, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    image, image_id, digest = _image(podman, busybox_image, tmp_path / "build")
    with contextlib.closing(platform.login()) as admin:  # a user's scan: no file list
        stored = admin.post(
            "/api/v1/scans",
            content=msgspec.json.encode(ScanResult(target=image, image_digest=digest)),
            params={"name": image},
        )
        assert stored.status_code == 201, stored.text
    state = tmp_path / "agent"
    state.mkdir()
    creds = _agent_credentials(platform, tmp_path / "creds")
    refused: list[tuple[str, str]] = []
    detector = ProfileDetector()

    def on_refused(cid: str, path: str, verdict: ExecVerdict) -> None:
        refused.append((cid, path))
        detector.refused(cid, path, verdict)

    guard = ExecGuard(detector.verdict, on_refused)
    try:
        first = _container(podman, image, image_id, digest)
        integrity: list[Alert] = []
        worker = _run_scan_worker(state, platform, creds, [first], integrity)
        assert (worker.skipped, worker.scanned, worker.failed) == (1, [], 0)
        assert worker.tampered == [] and integrity == []  # an intact image: no alert
        kept = file_of(state / IMAGE_FILES_DIR, digest)
        assert kept is not None and kept.exists()
        listed_at = kept.stat().st_mtime_ns

        # replaced in place in the image's layer, beneath every container, before any ran it
        layer_file = image_file(root_overlay(first.pid).lowerdirs, TOOL)
        assert layer_file is not None
        Path(layer_file).write_bytes(Path(layer_file).read_bytes() + b"\0changed in place")

        # the agent restarts: the list is kept in its state dir, not listed again
        second = _container(podman, image, image_id, digest)
        again = _run_scan_worker(state, platform, creds, [first, second])
        assert (again.skipped, again.scanned, again.failed) == (0, [], 0)
        assert kept.stat().st_mtime_ns == listed_at
        detector.image_files = ImageFiles(ScannedExecutables(state / IMAGE_FILES_DIR))

        group = workload_group(first).id
        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.PROTECT))
        detector.book.replace(
            merged(Profile(group=group), [Behaviour(Kind.EXEC, p) for p in ALLOWED])
        )
        for container in (first, second):
            detector.containers[container.id] = container
            guard.protect(container.id, container.pid)
        assert podman.cmd("exec", first.id, OTHER).returncode == 0
        podman.exec(first.id, "/bin/chmod", "755", OTHER)  # copied up, unchanged
        assert podman.cmd("exec", first.id, OTHER).returncode == 0
        assert refused == [] and _drained(detector) == []

        for container in (first, second):
            assert podman.cmd("exec", container.id, TOOL, check=False).returncode != 0
        assert refused == [(first.id, TOOL), (second.id, TOOL)]
        [alert] = _drained(detector)  # one per group and path
        assert alert.rule == DRIFT_RULE and alert.output_fields["profile.new"] == TOOL
        assert alert.output_fields["profile.action"] == "refused"
    finally:
        guard.close()
        podman.remove_started()
        subprocess.run(["podman", "rmi", "-f", image], check=False, capture_output=True)


def _store_users_scan(platform: PlatformRunner, image: str, digest: str) -> None:
    """A user's scan of the image on the platform (no file list: the agent lists its own)."""
    with contextlib.closing(platform.login()) as admin:
        stored = admin.post(
            "/api/v1/scans",
            content=msgspec.json.encode(ScanResult(target=image, image_digest=digest)),
            params={"name": image},
        )
        assert stored.status_code == 201, stored.text


def test_a_layer_changed_before_the_pass_is_an_integrity_alert_and_drift(
    platform: PlatformRunner, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    image, image_id, digest = _image(podman, busybox_image, tmp_path / "build")
    _store_users_scan(platform, image, digest)
    state = tmp_path / "agent"
    state.mkdir()
    creds = _agent_credentials(platform, tmp_path / "creds")
    detector = ProfileDetector()
    guard = ExecGuard(detector.verdict, detector.refused)
    try:
        first = _container(podman, image, image_id, digest)
        layer_file = image_file(root_overlay(first.pid).lowerdirs, TOOL)
        assert layer_file is not None  # replaced in place before the agent's pass ran
        Path(layer_file).write_bytes(Path(layer_file).read_bytes() + b"\0changed in place")

        integrity: list[Alert] = []
        worker = _run_scan_worker(state, platform, creds, [first], integrity)
        assert (worker.skipped, worker.tampered, worker.failed) == (1, [digest], 1)
        [alert] = integrity
        assert alert.rule == INTEGRITY_RULE and alert.priority == "Critical"
        assert "T1525" in alert.tags
        fields = alert.output_fields
        assert fields["container.image.digest"] == digest
        assert fields["image.tampered_file"] == TOOL
        assert fields["container.ids"] == [first.id]

        detector.image_files = ImageFiles(
            ScannedExecutables(state / IMAGE_FILES_DIR), TamperedImages(state / IMAGE_FILES_DIR)
        )
        tool_sha = hashlib.sha256(Path(layer_file).read_bytes()).hexdigest()
        detector.hasher = lambda event: f"sha256:{tool_sha}"
        group = workload_group(first).id
        detector.book.replace(
            merged(Profile(group=group), [Behaviour(Kind.EXEC, p) for p in ALLOWED])
        )
        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.MONITOR))
        ran = Event(type="execve", ts=1, proc=Process(pid=1, exepath=TOOL), container=first)
        [drift] = detector.inspect(ran)  # pinning on first read would have taken it
        assert drift.rule == DRIFT_RULE and drift.output_fields["profile.action"] == "alert"

        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.PROTECT))
        guard.protect(first.id, first.pid)
        assert podman.cmd("exec", first.id, OTHER).returncode == 0  # not the file named
        assert _drained(detector) == []
        assert podman.cmd("exec", first.id, TOOL, check=False).returncode != 0
        [refused] = _drained(detector)
        assert refused.rule == DRIFT_RULE and refused.output_fields["profile.new"] == TOOL
        assert refused.output_fields["profile.action"] == "refused"
    finally:
        guard.close()
        podman.remove_started()
        subprocess.run(["podman", "rmi", "-f", image], check=False, capture_output=True)
