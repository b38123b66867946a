"""A running image whose layer content failed its integrity check, as a Critical alert.

The image scan worker reports each such image once per digest and agent run
(`ImageScanScheduler`'s `on_integrity`); `IntegrityAlerts` names the containers running
it (from podman, falling back to the one the image was seen in) and hands the alert to
the agent's normal alert path (spool and outputs).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence

from stockade.agent.image_scans import ImageIntegrityError, ImageScanRequest
from stockade.model import Alert, Priority
from stockade.model.alerts import THIS_HOST, new_alert
from stockade.scan.sources.rootfs import PODMAN_FLAGS

log = logging.getLogger(__name__)
INTEGRITY_RULE = "Image layer integrity failure"
TAGS = ["container", "drift", "image", "mitre_persistence", "T1525"]


def integrity_alert(
    request: ImageScanRequest,
    error: ImageIntegrityError,
    container_ids: Sequence[str],
    host_id: str,
    now_ns: int,
) -> Alert:
    """The Critical alert for an image whose layers no longer match their digests (pure)."""
    priority = Priority.CRITICAL
    file = error.file or "(not named)"
    text = (
        f"{INTEGRITY_RULE} (image={request.image} digest={request.digest} file={file} "
        f"containers={','.join(c[:12] for c in container_ids)})"
    )
    return new_alert(
        rule=INTEGRITY_RULE,
        priority=priority,
        text=text,
        ts=now_ns,
        fields={
            "container.image": request.image,
            "container.image.id": request.image_id,
            "container.image.digest": request.digest,
            "image.tampered_file": error.file,
            "image.error": str(error),
            "container.ids": list(container_ids),
        },
        source="image",
        tags=TAGS,
        hostname=THIS_HOST,
        host_id=host_id,
        container_id=request.container_id,
    )


def podman_containers_of(image_id: str) -> list[str]:
    """Ids of the running podman containers of the image (empty when podman cannot say)."""
    podman = shutil.which("podman")
    if podman is None or not image_id:
        return []
    try:
        listed = subprocess.run(
            [podman, *PODMAN_FLAGS, "ps", "--no-trunc", "--format", "{{.ID}} {{.ImageID}}"],
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("cannot list the containers of image %s: %s", image_id, e)
        return []
    rows = (line.split() for line in listed.stdout.decode(errors="replace").splitlines())
    return [row[0] for row in rows if len(row) == 2 and row[1] == image_id]


class IntegrityAlerts:
    """Turns the scan worker's integrity failures into alerts on the agent's alert path."""

    def __init__(
        self,
        on_alerts: Callable[[list[Alert]], None],
        host_id: str,
        containers_of: Callable[[str], list[str]] = podman_containers_of,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._on_alerts = on_alerts
        self._host_id = host_id
        self._containers_of = containers_of
        self._clock = clock

    def __call__(self, request: ImageScanRequest, error: ImageIntegrityError) -> None:
        """Raise the alert for one image (the scheduler calls this once per digest)."""
        ids = self._containers_of(request.image_id) if request.runtime == "podman" else []
        if request.container_id not in ids:
            ids = [request.container_id, *ids]
        self._on_alerts([integrity_alert(request, error, ids, self._host_id, self._clock())])
