"""The agent's profile channel: learned behaviour up, profiles and modes down, every few seconds.

Every `SYNC_S` the thread posts what the `ProfileDetector` learned (`POST
/api/v1/agent/profiles`; kept and sent again when refused or unreachable) and asks for the
groups' profiles and modes past the revision it has (`GET /api/v1/agent/profiles`). The
last push is kept on disk, so a restarted agent judges by its profiles before the platform
answers (or while it is away). A user's mode switch reaches the agent within `SYNC_S`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import msgspec

from stockade.agent.enroll import Credentials, response_detail
from stockade.agent.oci_hook_server import HookSettings, start_hook_guard
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.imagefiles import ImageFiles
from stockade.profiles.protection import ExeHashes, Protection
from stockade.profiles.scanned_files import IMAGE_FILES_DIR, ScannedExecutables
from stockade.profiles.tampered_images import TamperedImages
from stockade.profiles.wire import ProfilePush
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
PROFILES_PATH = "/api/v1/agent/profiles"
SYNC_S = 2.0
PUSH_FILE = "profiles.json"
_push = msgspec.json.Decoder(ProfilePush)


class ProfileSync:
    """One thread keeping the detector's profiles and the platform's in step."""

    def __init__(
        self,
        server_url: str,
        credentials: Credentials,
        detector: ProfileDetector,
        state_dir: Path,
        on_push: Callable[[ProfilePush], None] | None = None,
        interval_s: float = SYNC_S,
    ) -> None:
        self._url = server_url.rstrip("/") + PROFILES_PATH
        self._credentials = credentials
        self._detector = detector
        self._file = state_dir / PUSH_FILE
        self._on_push = on_push
        self._interval_s = interval_s
        self.revision = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-profiles", daemon=True)
        self._load()

    def _load(self) -> None:
        try:
            push = _push.decode(self._file.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, msgspec.DecodeError) as e:
            log.warning("profiles: cannot read %s (%s); waiting for the platform's", self._file, e)
            return
        self._take(push)

    def _take(self, push: ProfilePush) -> None:
        self._detector.apply(push)
        self.revision = push.revision
        if self._on_push is not None:
            self._on_push(push)

    def start(self) -> ProfileSync:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Send what is left once, then stop."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(verify=self._credentials.ssl_context(), timeout=10.0) as client:
            while True:
                self.sync_once(client)
                if self._stop.wait(self._interval_s):
                    self.sync_once(client)
                    return

    def sync_once(self, client: httpx.Client) -> None:
        """Send what was learned, then take a newer push if there is one."""
        report = self._detector.take_learned()
        try:
            if report.groups:
                body = msgspec.json.encode(report)
                sent = client.post(self._url, content=body)
                if sent.status_code != 200:
                    self._detector.give_back(report)
                    log.warning("profiles: report refused: %s", response_detail(sent))
            answer = client.get(self._url, params={"revision": self.revision})
        except httpx.HTTPError as e:
            self._detector.give_back(report)
            log.warning("profiles: platform unreachable: %s", e)
            return
        if answer.status_code != 200:
            log.warning("profiles: fetch refused: %s", response_detail(answer))
            return
        push = _push.decode(answer.content)
        if push.revision != self.revision:
            self._take(push)
            self._save(answer.content)

    def _save(self, data: bytes) -> None:
        partial = self._file.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, self._file)


def start_profiles(
    detectors: Sequence[object],
    server_url: str,
    credentials: Credentials,
    state_dir: Path,
    hook: HookSettings | None = None,
) -> Callable[[], None] | None:
    """Start profile sync and protect mode for the agent's `ProfileDetector`, if it runs one
    (with the OCI hook's socket, guarding containers at create); returns what stops them."""
    found = [d for d in detectors if isinstance(d, ProfileDetector)]
    if not found:
        return None
    detector = found[0]
    if detector.hasher is None:
        detector.hasher = ExeHashes()
    if detector.image_files is None:
        kept = state_dir / IMAGE_FILES_DIR
        detector.image_files = ImageFiles(ScannedExecutables(kept), TamperedImages(kept))
    try:
        protection: Protection | None = Protection(detector)
    except RespondError as e:
        log.warning("protect mode unavailable (alerts only): %s", e)
        protection = None
    on_push = protection.on_push if protection is not None else None
    sync = ProfileSync(server_url, credentials, detector, state_dir, on_push).start()
    stop_hook = None
    if protection is not None:
        stop_hook = start_hook_guard(protection, state_dir, hook or HookSettings())

    def stop() -> None:
        sync.stop()
        if stop_hook is not None:
            stop_hook()
        if protection is not None:
            protection.close()

    return stop
