"""Choosing images to scan (pure), remembering them, and the scheduler with fake edges."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from stockade.agent.image_scan_runner import (
    SubprocessScanner,
    executables_command,
    scan_command,
)
from stockade.agent.image_scans import (
    ImageScanError,
    ImageScanRequest,
    ImageScanScheduler,
    ScanDeferred,
    ScannedDigests,
    images_to_scan,
)
from stockade.model import Container, Event, Process
from stockade.model.inventory import ScanResult
from tests.support.polling import poll_until

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def event_in(container: Container) -> Event:
    """An exec inside `container`."""
    return Event(type="execve", ts=1, proc=Process(pid=9, name="sleep"), container=container)


def box(digest: str, *, complete: bool = True, cid: str = "c1") -> Container:
    """A podman container of an image with `digest`."""
    return Container(
        id=cid * 32,
        runtime="podman",
        image="localhost/app:1",
        image_id="f" * 64,
        image_digest=digest,
        complete=complete,
    )


@pytest.mark.parametrize(
    ("containers", "seen", "wanted"),
    [
        ([box(DIGEST_A)], set(), [DIGEST_A]),
        ([box(DIGEST_A), box(DIGEST_A, cid="c2"), box(DIGEST_B)], set(), [DIGEST_A, DIGEST_B]),
        ([box(DIGEST_A)], {DIGEST_A}, []),
        ([box(DIGEST_A, complete=False)], set(), []),
        ([box("")], set(), []),
        ([Container.host()], set(), []),
    ],
    ids=["new", "one-per-digest", "seen", "incomplete", "no-digest", "host"],
)
def test_images_to_scan(containers: list[Container], seen: set[str], wanted: list[str]) -> None:
    found = images_to_scan([event_in(c) for c in containers], seen)
    assert [r.digest for r in found] == wanted


def test_request_source_prefers_the_stored_image() -> None:
    (podman,) = images_to_scan([event_in(box(DIGEST_A))], set())
    assert podman.source == "podman:" + "f" * 64
    other = ImageScanRequest(DIGEST_A, "", "app", "c" * 64, "docker")
    assert other.source == "container:" + "c" * 64


def test_scan_command_is_niced_and_adds_vulns_with_a_db(tmp_path: Path) -> None:
    request = ImageScanRequest(DIGEST_A, "f" * 64, "app", "c" * 64, "podman")
    plain = scan_command(request, tmp_path, None)
    assert plain[:3][1:] == ["-n", "15"] and sys.executable in plain
    assert plain[plain.index("-m") + 1] == "stockade.agent.scan_child"  # not a user format
    assert "--format" not in plain
    assert plain[plain.index("--scanners") + 1] == "pkg,secret,misconfig"
    with_db = scan_command(request, tmp_path, tmp_path / "vuln.db")
    assert "pkg,secret,misconfig,vuln" in with_db and str(tmp_path / "vuln.db") in with_db


def test_scanned_digests_survive_a_restart(tmp_path: Path) -> None:
    done = ScannedDigests(tmp_path / "scanned")
    done.add(DIGEST_A)
    done.add(DIGEST_A)
    assert DIGEST_A in ScannedDigests(tmp_path / "scanned")
    assert (tmp_path / "scanned").read_text() == DIGEST_A + "\n"


class FakePlatform:
    """The platform's scan endpoints in memory."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.stored: dict[str, list[str]] = dict.fromkeys(known, [])
        self.closed = False

    def known(self, digest: str) -> bool:
        return digest in self.stored

    def upload(self, result: ScanResult, names: Iterable[str]) -> None:
        self.stored[result.image_digest] = list(names)

    def close(self) -> None:
        self.closed = True


class FakeScanner:
    """Answers a scan whose digest differs from the runtime's, or fails on request."""

    def __init__(self, failing: str = "") -> None:
        self.calls: list[str] = []
        self.listed: list[str] = []  # digests whose executables-only pass was asked for
        self.failing = failing

    def scan(self, request: ImageScanRequest) -> ScanResult:
        self.calls.append(request.digest)
        if request.digest == self.failing:
            raise ImageScanError("broken image")
        return ScanResult(target=request.source, image_digest="sha256:" + "9" * 64)

    def keep_executables(self, request: ImageScanRequest) -> None:
        self.listed.append(request.digest)
        if request.digest == self.failing:
            raise ImageScanError("broken image")

    def cancel(self) -> None:
        pass


def run_until_idle(scheduler: ImageScanScheduler, *batches: list[Event]) -> None:
    """Offer the batches, let the worker finish them, stop it."""
    scheduler.start()
    for batch in batches:
        scheduler.offer(batch)
    poll_until(scheduler.idle, 30, "the scan worker to finish the batches", interval=0.01)
    scheduler.stop()


def test_scheduler_scans_once_per_digest_under_the_runtime_digest(tmp_path: Path) -> None:
    platform, scanner = FakePlatform(), FakeScanner()
    scheduler = ImageScanScheduler(tmp_path, platform, scanner)
    first, again = [event_in(box(DIGEST_A))], [event_in(box(DIGEST_A, cid="c2"))]
    run_until_idle(scheduler, first, again, first)
    assert scanner.calls == [DIGEST_A] and scheduler.scanned == [DIGEST_A]
    assert scanner.listed == []  # the full scan kept the executables' digests
    assert platform.stored == {DIGEST_A: ["localhost/app:1"]} and platform.closed
    restarted = ImageScanScheduler(tmp_path, FakePlatform(), scanner)
    run_until_idle(restarted, first, again)
    assert scanner.calls == [DIGEST_A]  # remembered in the state dir
    assert scanner.listed == [DIGEST_A]  # once per run: listed unless kept already


def test_scheduler_lists_the_executables_of_digests_the_platform_knows(tmp_path: Path) -> None:
    """A scan stored by a user holds no executables for this agent: it lists them itself,
    once for all the image's containers, without scanning or uploading."""
    scanner, platform = FakeScanner(), FakePlatform(known=[DIGEST_A])
    scheduler = ImageScanScheduler(tmp_path, platform, scanner)
    first, second = event_in(box(DIGEST_A)), event_in(box(DIGEST_A, cid="c2"))
    run_until_idle(scheduler, [first], [second])
    assert scanner.calls == [] and scanner.listed == [DIGEST_A]
    assert scheduler.skipped == 1 and DIGEST_A in scheduler.done
    assert platform.stored == {DIGEST_A: []}  # nothing uploaded


def test_a_failed_executables_pass_is_counted_and_tried_again_after_a_restart(
    tmp_path: Path,
) -> None:
    scanner = FakeScanner(failing=DIGEST_A)
    for _ in range(2):
        scheduler = ImageScanScheduler(tmp_path, FakePlatform(known=[DIGEST_A]), scanner)
        run_until_idle(scheduler, [event_in(box(DIGEST_A))], [event_in(box(DIGEST_A))])
        assert scheduler.failed == 1 and DIGEST_A not in scheduler.done
    assert scanner.listed == [DIGEST_A, DIGEST_A] and scanner.calls == []


def test_executables_command_runs_no_scanner_niced(tmp_path: Path) -> None:
    request = ImageScanRequest(DIGEST_A, "f" * 64, "app", "c" * 64, "podman")
    command = executables_command(request, tmp_path / "cache", tmp_path / "kept")
    assert command[1:3] == ["-n", "15"] and "podman:" + "f" * 64 in command
    assert command[command.index("--scanners") + 1] == ""
    assert command[command.index("--executables-to") + 1] == str(tmp_path / "kept")


def test_an_executables_pass_runs_only_for_a_stored_image_not_kept_yet(tmp_path: Path) -> None:
    """Kept already, or a container's root filesystem (not the image's layers): no child
    runs (one would fail on these made-up images)."""
    scanner = SubprocessScanner(tmp_path / "cache", None, tmp_path / "image-files")
    kept = tmp_path / "image-files" / ("sha256-" + "a" * 64 + ".msgpack")
    kept.parent.mkdir()
    kept.write_bytes(b"\x80")
    scanner.keep_executables(ImageScanRequest(DIGEST_A, "f" * 64, "app", "c" * 64, "podman"))
    scanner.keep_executables(ImageScanRequest(DIGEST_B, "", "app", "c" * 64, "docker"))
    with pytest.raises(ImageScanError, match="podman:"):
        scanner.keep_executables(ImageScanRequest(DIGEST_B, "e" * 64, "app", "c" * 64, "podman"))
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]


def test_a_failed_scan_is_counted_and_not_remembered(tmp_path: Path) -> None:
    scanner = FakeScanner(failing=DIGEST_A)
    scheduler = ImageScanScheduler(tmp_path, FakePlatform(), scanner)
    run_until_idle(scheduler, [event_in(box(DIGEST_A)), event_in(box(DIGEST_B, cid="c2"))])
    assert scheduler.failed == 1 and scheduler.scanned == [DIGEST_B]
    assert DIGEST_A not in scheduler.done and DIGEST_B in scheduler.done


class DeferringPlatform(FakePlatform):
    """Defers the first `defer` uploads, as the platform does before the image's events land."""

    def __init__(self, defer: int) -> None:
        super().__init__()
        self.defer = defer

    def upload(self, result: ScanResult, names: Iterable[str]) -> None:
        if self.defer > 0:
            self.defer -= 1
            raise ScanDeferred("agent reported no container running the image")
        super().upload(result, names)


def test_a_deferred_upload_is_retried_without_scanning_again(tmp_path: Path) -> None:
    scanner, platform = FakeScanner(), DeferringPlatform(defer=2)
    scheduler = ImageScanScheduler(tmp_path, platform, scanner, upload_retries_s=(0, 0))
    run_until_idle(scheduler, [event_in(box(DIGEST_A))])
    assert scanner.calls == [DIGEST_A] and scheduler.scanned == [DIGEST_A]
    assert DIGEST_A in platform.stored and DIGEST_A in scheduler.done


def test_an_upload_deferred_past_its_retries_is_scanned_when_seen_again(tmp_path: Path) -> None:
    scanner, platform = FakeScanner(), DeferringPlatform(defer=2)
    scheduler = ImageScanScheduler(tmp_path, platform, scanner, upload_retries_s=(0,))
    scheduler.start()
    for _ in range(2):
        scheduler.offer([event_in(box(DIGEST_A))])
        poll_until(scheduler.idle, 30, "the scan worker to finish", interval=0.01)
    scheduler.stop()
    assert scanner.calls == [DIGEST_A, DIGEST_A] and DIGEST_A in platform.stored
