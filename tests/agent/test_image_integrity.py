"""An image failing its layer integrity check: one Critical alert per digest and run,
naming the image, the file and the containers (scheduler with fake edges, pure alert)."""

from __future__ import annotations

from pathlib import Path

from stockade.agent.image_integrity import INTEGRITY_RULE, IntegrityAlerts, integrity_alert
from stockade.agent.image_scans import (
    ImageIntegrityError,
    ImageScanRequest,
    ImageScanScheduler,
)
from stockade.model import Alert, Container, Event, Process
from stockade.model.inventory import ScanResult
from tests.support.polling import poll_until

DIGEST = "sha256:" + "a" * 64
REQUEST = ImageScanRequest(DIGEST, "f" * 64, "localhost/app:1", "c" * 64, "podman")


class KnowingPlatform:
    """A platform that holds a scan of every digest (so the executables pass runs)."""

    def known(self, digest: str) -> bool:
        return True

    def upload(self, result: ScanResult, names: object) -> None:
        raise AssertionError("nothing is uploaded for a known digest")

    def close(self) -> None:
        pass


class TamperedScanner:
    """Every executables pass finds the layer content changed under /opt/x/true."""

    def __init__(self) -> None:
        self.passes = 0

    def scan(self, request: ImageScanRequest) -> ScanResult:
        raise AssertionError("a known digest is not scanned")

    def keep_executables(self, request: ImageScanRequest) -> None:
        self.passes += 1
        raise ImageIntegrityError('file integrity checksum failed for "opt/x/true"', "/opt/x/true")

    def cancel(self) -> None:
        pass


def exec_in(cid: str) -> Event:
    """An exec in a podman container of the image."""
    container = Container(
        id=cid * 64, runtime="podman", image="localhost/app:1", image_id="f" * 64,
        image_digest=DIGEST, complete=True,
    )  # fmt: skip
    return Event(type="execve", ts=1, proc=Process(pid=9), container=container)


def test_one_alert_per_digest_and_run_naming_the_containers(tmp_path: Path) -> None:
    scanner, alerts = TamperedScanner(), list[Alert]()
    for run in range(2):  # checked again after a restart: not remembered as done
        on_integrity = IntegrityAlerts(alerts.extend, "host-1", lambda image: ["d" * 64])
        scheduler = ImageScanScheduler(tmp_path, KnowingPlatform(), scanner, (), on_integrity)
        scheduler.start()
        scheduler.offer([exec_in("c"), exec_in("e")])
        scheduler.offer([exec_in("c")])
        poll_until(scheduler.idle, 30, "the integrity failure to be handled", interval=0.01)
        scheduler.stop()
        assert scheduler.tampered == [DIGEST] and scheduler.failed == 1
        assert DIGEST not in scheduler.done and len(alerts) == run + 1
    assert scanner.passes == 2
    fields = alerts[0].output_fields
    assert fields["container.ids"] == ["c" * 64, "d" * 64]  # the one seen first, then podman's
    assert fields["image.tampered_file"] == "/opt/x/true"


def test_the_integrity_alert_is_critical_and_names_image_digest_and_file() -> None:
    error = ImageIntegrityError("podman image f: layer changed", "/opt/x/true")
    alert = integrity_alert(REQUEST, error, ["c" * 64], "host-1", 1_700_000_000_000_000_000)
    assert alert.rule == INTEGRITY_RULE and alert.priority == "Critical"
    assert {"container", "drift", "T1525"} <= set(alert.tags)
    assert alert.container_id == "c" * 64 and alert.host_id == "host-1"
    assert alert.output_fields["container.image"] == "localhost/app:1"
    assert alert.output_fields["container.image.digest"] == DIGEST
    assert f"digest={DIGEST} file=/opt/x/true containers={'c' * 12}" in alert.output
    unnamed = integrity_alert(REQUEST, ImageIntegrityError("layer changed"), [], "h", 1)
    assert "file=(not named)" in unnamed.output
