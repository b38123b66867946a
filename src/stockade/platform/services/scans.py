"""Image scan uploads: decode and check a `ScanResult` (pure), then keep it per image digest."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

import msgspec

from stockade.model.inventory import ScanResult, Severity
from stockade.model.wire import SCAN_CONTENT_TYPE
from stockade.model.wire import decode_scan as decode_upload
from stockade.platform.errors import PlatformError
from stockade.platform.store import ImageRecord, Store, StoreError
from stockade.platform.store.runner import StoreRunner
from stockade.scan.jsonreport import ReportError, decode_report

MAX_SCAN_BYTES = 64 * 1024 * 1024
MAX_NAME_CHARS = 512


class ScanRejected(PlatformError):
    """A scan upload is refused; `status` is the HTTP status and the message the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_scan(body: bytes, content_type: str = "application/json") -> ScanResult:
    """An agent's upload (SCAN_CONTENT_TYPE), else the JSON report of `stockade scan image
    --format json`; ScanRejected if the body is neither."""
    if not body.strip():
        raise ScanRejected(422, "empty body: send the JSON of `stockade scan image --format json`")
    if content_type.split(";", 1)[0].strip() == SCAN_CONTENT_TYPE:
        try:
            return decode_upload(body)
        except (msgspec.DecodeError, RecursionError) as e:
            raise ScanRejected(422, f"bad scan result: {e}") from e
    try:
        return decode_report(body)
    except ReportError as e:
        raise ScanRejected(422, f"bad scan result: {e}") from e


def image_key(result: ScanResult) -> str:
    """The digest an image is stored under: manifest digest, else config digest."""
    digest = result.image_digest or result.image_config_digest
    algorithm, _, value = digest.partition(":")
    if not algorithm or not value or not value.isalnum():
        raise ScanRejected(
            422,
            "the scan names no image digest (image_digest or image_config_digest "
            "'sha256:...'); scan an image, not a directory",
        )
    return digest


def name_from_target(target: str) -> str:
    """A readable image name from the scanned reference: `podman:busybox` -> `busybox`."""
    scheme, sep, rest = target.partition(":")
    if sep and scheme in ("podman", "docker", "container"):
        return rest
    if sep and scheme in ("oci-archive", "docker-archive", "oci", "dir"):
        return rest.rstrip("/").rsplit("/", 1)[-1]
    return target


def image_record(result: ScanResult, names: Iterable[str], agent_id: str, now: int) -> ImageRecord:
    """The image row for a new scan: names, OS and finding counts (pure)."""
    wanted = [n.strip()[:MAX_NAME_CHARS] for n in names if n.strip()]
    if not wanted and result.target:
        wanted = [name_from_target(result.target)]
    by_severity = Counter(f.severity.name for f in result.findings)
    by_kind = Counter(f.kind for f in result.findings)
    return ImageRecord(
        digest=image_key(result),
        names=tuple(dict.fromkeys(wanted)),
        os=result.os,
        first_seen=now,
        last_seen=now,
        scanned_at=now,
        agent_id=agent_id,
        target=result.target,
        packages=len(result.packages),
        by_severity={s.name: by_severity.get(s.name, 0) for s in reversed(Severity)},
        by_kind=dict(sorted(by_kind.items())),
        max_severity=max((int(f.severity) for f in result.findings), default=-1),
    )


class ScanService:
    """Stores uploaded scans and answers whether an image digest was scanned already."""

    def __init__(self, store: Store, runner: StoreRunner) -> None:
        self._store = store
        self._runner = runner

    async def submit(
        self,
        body: bytes,
        names: Iterable[str],
        agent_id: str = "",
        content_type: str = "application/json",
    ) -> ImageRecord:
        """Decode, check and store one scan; returns the image as stored.

        An agent's scan (`agent_id` set) is kept apart from other agents' scans and
        accepted only for an image it reported running or a user asked to have scanned.
        """
        result = decode_scan(body, content_type)
        record = image_record(result, names, agent_id, time.time_ns())
        if agent_id and not await self._runner.read_for_agent(
            self._store.agent_may_scan, agent_id, record.digest
        ):
            raise ScanRejected(
                403,
                f"agent {agent_id} reported no container running image {record.digest} "
                "and no user asked for a scan of it",
            )
        try:
            return await self._runner.write(self._store.store_scan, record, result)
        except StoreError as e:
            raise ScanRejected(503, f"{e}; retry later") from e

    async def known(self, digest: str, agent_id: str) -> bool:
        """True when this agent or a user stored a scan of this image digest."""
        return await self._runner.read_for_agent(self._store.has_scan, digest, agent_id)

    async def request(self, digest: str, username: str) -> None:
        """Let agents upload scans of this image digest."""
        await self._runner.write(self._store.request_scan, digest, username, time.time_ns())
