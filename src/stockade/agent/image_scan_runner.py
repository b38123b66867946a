"""The image scan worker's I/O: a niced scan subprocess (`scan_child`) and the mTLS client.

A subprocess keeps the scanner's memory out of the agent (it ends with the scan), can be
killed when the agent stops, and does not compete with the event pipeline for the GIL.
The same child, run with no scanners, only lists an image's executables' sha256 for the
drift check (`keep_executables`): the pass over an image the platform had a scan of.
A child that exits with `INTEGRITY_EXIT` found the image's layer content changed: the
image is marked for the drift check (`tampered_images`) and `ImageIntegrityError` raised.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import httpx
import msgspec

from stockade.agent.enroll import Credentials, response_detail
from stockade.agent.errors import TransportError
from stockade.agent.image_scans import (
    ImageIntegrityError,
    ImageScanError,
    ImageScanRequest,
    ImageScanScheduler,
    IntegrityHandler,
    ScanDeferred,
)
from stockade.agent.scan_child import INTEGRITY_EXIT, IntegrityFailure
from stockade.model.inventory import ScanResult
from stockade.model.wire import SCAN_CONTENT_TYPE, decode_scan, encode_scan
from stockade.profiles.scanned_files import IMAGE_FILES_DIR, file_of
from stockade.profiles.tampered_images import mark_tampered

log = logging.getLogger(__name__)
SCANS_PATH = "/api/v1/agent/scans"
SCAN_TIMEOUT_S = 600.0
NICENESS = 15


def scan_command(
    request: ImageScanRequest,
    cache_dir: Path,
    vulndb: Path | None,
    image_files_dir: Path | None = None,
) -> list[str]:
    """The command line scanning one image at low CPU priority (pure); with
    `image_files_dir`, the image's executables' sha256 are kept there for drift checks."""
    scanners = "pkg,secret,misconfig" + (",vuln" if vulndb is not None else "")
    command = [sys.executable, "-m", "stockade.agent.scan_child", request.source]
    command += ["--scanners", scanners, "--cache-dir", str(cache_dir)]
    if vulndb is not None:
        command += ["--db", str(vulndb)]
    kept = file_of(image_files_dir, request.digest) if image_files_dir is not None else None
    if kept is not None:
        command += ["--executables-to", str(kept)]
    return _niced(command)


def executables_command(request: ImageScanRequest, cache_dir: Path, kept: Path) -> list[str]:
    """The command line listing only the image's executables' sha256 into `kept`, at low
    CPU priority (pure): no scanner runs, the executables analyzer alone reads the layers."""
    command = [sys.executable, "-m", "stockade.agent.scan_child", request.source]
    command += ["--scanners", "", "--cache-dir", str(cache_dir), "--executables-to", str(kept)]
    return _niced(command)


def _niced(command: list[str]) -> list[str]:
    nice = shutil.which("nice")
    return [nice, "-n", str(NICENESS), *command] if nice else command


class SubprocessScanner:
    """Runs each scan as a child process; `cancel` kills the one running."""

    def __init__(
        self, cache_dir: Path, vulndb: Path | None = None, image_files_dir: Path | None = None
    ) -> None:
        self._cache_dir = cache_dir
        self._vulndb = vulndb
        self._image_files_dir = image_files_dir
        self._lock = threading.Lock()
        self._running: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def scan(self, request: ImageScanRequest) -> ScanResult:
        """The scan of the image, read from the child's output (the upload format)."""
        command = scan_command(request, self._cache_dir, self._vulndb, self._image_files_dir)
        out = self._run(command, request)
        try:
            return decode_scan(out)
        except msgspec.DecodeError as e:
            raise ImageScanError(f"scan of {request.source} printed no scan result: {e}") from e

    def keep_executables(self, request: ImageScanRequest) -> None:
        """List the image's executables' sha256 for the drift check, unless kept already
        or the image's layers are not at hand (a container's root filesystem is no image)."""
        if self._image_files_dir is None or not request.source.startswith("podman:"):
            return
        kept = file_of(self._image_files_dir, request.digest)
        if kept is not None and not kept.exists():
            self._run(executables_command(request, self._cache_dir, kept), request)

    def _run(self, command: list[str], request: ImageScanRequest) -> bytes:
        """The child's standard output; ImageScanError when it fails or takes too long,
        ImageIntegrityError (the image marked first) when its layers failed their check."""
        source = request.source
        with self._lock:
            if self._cancelled:
                raise ImageScanError("the agent is stopping")
            proc = self._running = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
        try:
            out, err = proc.communicate(timeout=SCAN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise ImageScanError(f"scan of {source} took over {SCAN_TIMEOUT_S:.0f} s") from None
        finally:
            with self._lock:
                self._running = None
        if proc.returncode == INTEGRITY_EXIT:
            raise self._integrity_failed(request, out)
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            raise ImageScanError(
                f"scan of {source} failed ({proc.returncode}): "
                f"{message[-1] if message else 'no message'}"
            )
        return out

    def _integrity_failed(self, request: ImageScanRequest, out: bytes) -> ImageIntegrityError:
        """The error for a child that found the image's layers changed, marking the image
        for the drift check (an unreadable report distrusts every file of its layers)."""
        try:
            failure = msgspec.json.decode(out, type=IntegrityFailure)
        except msgspec.DecodeError:
            failure = IntegrityFailure(f"scan of {request.source}: layer integrity check failed")
        if self._image_files_dir is not None:
            try:
                mark_tampered(self._image_files_dir, request.digest, failure.file)
            except OSError as e:
                log.error("image %s: cannot record its failed integrity: %s", request.digest, e)
        return ImageIntegrityError(failure.message, failure.file)

    def cancel(self) -> None:
        """Kill the running scan and refuse new ones."""
        with self._lock:
            self._cancelled = True
            if self._running is not None and self._running.poll() is None:
                self._running.kill()


class HttpScanPlatform:
    """The platform's agent-port scan endpoints over the agent's mutual TLS."""

    def __init__(self, server_url: str, credentials: Credentials, timeout_s: float = 30) -> None:
        self._url = server_url.rstrip("/") + SCANS_PATH
        self._client = httpx.Client(verify=credentials.ssl_context(), timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _call(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            return self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as e:
            raise TransportError(f"platform unreachable at {url}: {e}") from e

    def known(self, digest: str) -> bool:
        """True when the platform holds a scan of this digest."""
        response = self._call("GET", f"{self._url}/{digest}")
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise TransportError(
            f"scan lookup refused ({response.status_code}): {response_detail(response)}"
        )

    def upload(self, result: ScanResult, names: Iterable[str]) -> None:
        """Store the scan on the platform, under the names given."""
        response = self._call(
            "POST",
            self._url,
            content=encode_scan(result),
            params={"name": list(names)},
            headers={"content-type": SCAN_CONTENT_TYPE},
        )
        if response.status_code >= 500:
            raise TransportError(f"platform error {response.status_code} on a scan upload")
        if response.status_code == 403:  # its container's events may not be stored yet
            raise ScanDeferred(f"scan upload refused for now: {response_detail(response)}")
        if response.status_code != 201:  # refused for what it is: sending it again won't help
            raise ImageScanError(
                f"scan upload refused ({response.status_code}): {response_detail(response)}"
            )


def start_image_scans(
    state_dir: Path,
    server_url: str,
    credentials: Credentials,
    vulndb: Path | None,
    on_integrity: IntegrityHandler | None = None,
) -> ImageScanScheduler:
    """A running scheduler scanning in subprocesses and reporting to the platform;
    `on_integrity` hears of each image whose layers failed their integrity check."""
    scanner = SubprocessScanner(state_dir / "scan-cache", vulndb, state_dir / IMAGE_FILES_DIR)
    platform = HttpScanPlatform(server_url, credentials)
    scheduler = ImageScanScheduler(state_dir, platform, scanner, on_integrity=on_integrity)
    scheduler.start()
    return scheduler
