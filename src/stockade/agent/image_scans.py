"""Scanning the image of each new container once per digest, off the hot path.

The pipeline hands every batch of events to `ImageScanScheduler.offer`, which only picks
the images not seen in this run (`images_to_scan`, pure) and queues them. One worker
thread asks the platform whether the digest is known (this agent or a user scanned it:
another agent's scan is its own), else scans it in a low-priority subprocess and uploads
the result, waiting a little while the platform defers it until the events reporting the
image's container have landed. Digests done are kept in `<state dir>/scanned-images` so
a restart does not scan them again.

Every image also gets its executables' sha256 kept for the drift check
(`profiles/scanned_files.py`): the full scan writes them, and for a digest the platform
knew, or one done before, `ImageScanner.keep_executables` runs a pass with no scanner but
the executables analyzer (same niced child, same verified layer reading) unless the list
is kept already. That is done here rather than by the platform keeping the lists with its
scans and serving them to agents: the hashes then come from layers this agent read and
verified itself (never from another agent's or a user's upload), nothing is added to the
store, the API or its access rules, and the pass costs one read of the image's layers,
hashing only the files with an execute bit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stockade.agent.errors import AgentError, TransportError
from stockade.model import Event
from stockade.model.inventory import ScanResult

log = logging.getLogger(__name__)
SCANNED_FILE = "scanned-images"
MAX_QUEUED = 64
UPLOAD_RETRIES_S = (1.0, 3.0, 10.0, 30.0)  # waits for the events naming the image to land


@dataclass(frozen=True, slots=True)
class ImageScanRequest:
    """One image to scan, and the container it was seen in."""

    digest: str
    image_id: str
    image: str  # the reference the container was started from
    container_id: str
    runtime: str

    @property
    def source(self) -> str:
        """The scanner reference: the stored image when known, else the container's rootfs."""
        if self.runtime == "podman" and self.image_id:
            return f"podman:{self.image_id}"
        return f"container:{self.container_id}"


class ImageScanError(AgentError):
    """An image could not be scanned."""


class ImageIntegrityError(ImageScanError):
    """An image's layer content does not match its digest (changed on disk): `file` is the
    file the check named, "" when it named none."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


IntegrityHandler = Callable[[ImageScanRequest, ImageIntegrityError], None]


class ScanDeferred(TransportError):
    """The platform takes a scan only once it holds a container of the image from this
    agent: the events that report it may still be on their way."""


class ScanPlatform(Protocol):
    """The platform's scan endpoints as the scheduler needs them."""

    def known(self, digest: str) -> bool:
        """True when the platform holds a scan of this digest."""

    def upload(self, result: ScanResult, names: Iterable[str]) -> None:
        """Store a scan on the platform."""

    def close(self) -> None:
        """Release connections."""


class ImageScanner(Protocol):
    """Scans one image; `cancel` stops a scan in progress from another thread."""

    def scan(self, request: ImageScanRequest) -> ScanResult:
        """The scan of the requested image; ImageScanError when it fails."""

    def keep_executables(self, request: ImageScanRequest) -> None:
        """Keep the image's executables' sha256 for the drift check, unless kept already
        (ImageScanError when the pass fails)."""

    def cancel(self) -> None:
        """Stop the running scan, if any."""


def images_to_scan(events: Iterable[Event], seen: Collection[str]) -> list[ImageScanRequest]:
    """Images of complete containers whose digest is neither in `seen` nor repeated."""
    found: dict[str, ImageScanRequest] = {}
    for event in events:
        c = event.container
        digest = c.image_digest
        if not digest or not c.complete or c.is_host or digest in seen or digest in found:
            continue
        found[digest] = ImageScanRequest(
            digest=digest,
            image_id=c.image_id,
            image=c.image,
            container_id=c.id,
            runtime=c.runtime,
        )
    return list(found.values())


class ScannedDigests:
    """The digests this agent has had scanned, one per line in a file of the state dir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._digests = set(path.read_text().split()) if path.exists() else set()
        except OSError as e:
            raise AgentError(f"cannot read {path}: {e}; delete it to scan images again") from e

    def __contains__(self, digest: object) -> bool:
        return digest in self._digests

    def add(self, digest: str) -> None:
        """Remember a digest as done, on disk at once."""
        with self._lock:
            if digest in self._digests:
                return
            self._digests.add(digest)
            with self.path.open("a") as handle:
                handle.write(digest + "\n")


class ImageScanScheduler:
    """Queues new images from the pipeline and scans them one at a time on a worker thread."""

    def __init__(
        self,
        state_dir: Path,
        platform: ScanPlatform,
        scanner: ImageScanner,
        upload_retries_s: tuple[float, ...] = UPLOAD_RETRIES_S,
        on_integrity: IntegrityHandler | None = None,
    ) -> None:
        self.done = ScannedDigests(state_dir / SCANNED_FILE)
        self._upload_retries_s = upload_retries_s
        self._stopping = threading.Event()
        self._platform = platform
        self._scanner = scanner
        self._on_integrity = on_integrity  # told once per digest and run (queued once)
        # queued or handled in this run: a digest done before a restart is queued once
        # more, to have its executables listed if they are not kept yet
        self._seen: set[str] = set()
        self._queue: queue.Queue[ImageScanRequest | None] = queue.Queue(MAX_QUEUED)
        self._thread = threading.Thread(target=self._work, name="stockade-image-scans", daemon=True)
        self.scanned: list[str] = []  # digests this agent scanned and uploaded, in order
        self.skipped = 0  # digests the platform knew already (their executables listed here)
        self.failed = 0
        self.tampered: list[str] = []  # digests whose layers failed their integrity check

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def offer(self, events: Iterable[Event]) -> None:
        """Queue the new images among these events (cheap; called by the pipeline)."""
        for request in images_to_scan(events, self._seen):
            try:
                self._queue.put_nowait(request)
            except queue.Full:
                return  # seen again later, queued then
            self._seen.add(request.digest)

    def idle(self) -> bool:
        """True when nothing is queued or being scanned."""
        return self._queue.unfinished_tasks == 0

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel a running scan and stop the worker."""
        self._stopping.set()
        self._scanner.cancel()
        while True:  # make room for the sentinel; dropped requests are retried after restart
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                self._drop_one()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._platform.close()

    def _drop_one(self) -> None:
        try:
            self._queue.get_nowait()
            self._queue.task_done()
        except queue.Empty:
            pass

    def _work(self) -> None:
        while True:
            request = self._queue.get()
            try:
                if request is None:
                    return
                self._handle(request)
            except Exception:  # a bug must not end scanning silently
                log.exception("image scan of %s failed", request)
            finally:
                self._queue.task_done()

    def _handle(self, request: ImageScanRequest) -> None:
        try:
            if request.digest in self.done:
                self._scanner.keep_executables(request)
                return
            if self._platform.known(request.digest):
                self.skipped += 1
                self._scanner.keep_executables(request)  # the platform's scan has no list
            else:
                result = self._scanner.scan(request)
                result.image_digest = request.digest  # the runtime's digest names the image
                self._upload(result, [request.image] if request.image else [])
                self.scanned.append(request.digest)
                log.info("scanned image %s (%s)", request.image, request.digest)
        except TransportError as e:
            log.warning("image %s: %s; will scan it when seen again", request.digest, e)
            self._seen.discard(request.digest)
            return
        except ImageIntegrityError as e:  # not kept as done: checked again after a restart
            self.failed += 1
            self.tampered.append(request.digest)
            log.error("image %s: layer integrity check failed: %s", request.digest, e)
            if self._on_integrity is not None:
                self._on_integrity(request, e)
            return
        except ImageScanError as e:
            self.failed += 1
            log.warning("image %s: %s", request.digest, e)
            return
        self.done.add(request.digest)

    def _upload(self, result: ScanResult, names: list[str]) -> None:
        """Upload, waiting a little while the platform defers the scan (ScanDeferred)."""
        for delay in (*self._upload_retries_s, None):
            try:
                self._platform.upload(result, names)
                return
            except ScanDeferred:
                if delay is None or self._stopping.wait(delay):
                    raise
