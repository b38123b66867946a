"""The agent's side of the OCI hook: a root-only unix socket where containers being created
are guarded before their entrypoint runs.

Each connection carries one request (the container's OCI state: id, init pid, bundle) and
gets one answer: `{"ok": true}` once the container is guarded or needs no guard (its group
is not in protect, or no runtime knows it), `{"ok": false, "error": ...}` when it should
have been guarded but could not be. `GuardAtCreate` turns a request into that answer: it
describes the container through the host's runtimes (podman's metadata exists at create),
reads the rootfs from the bundle's config.json and hands both to `Protection`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from stockade.agent.oci_hook import DEFAULT_DEADLINE_S, install_hook, remove_hook
from stockade.context.runtime import ContainerRuntime, all_runtimes
from stockade.model.entities import Container
from stockade.profiles.protection import Protection
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
SOCKET_NAME = "oci-hook.sock"
_REQUEST_TIMEOUT_S = 5.0
_MAX_REQUEST = 1 << 16


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A container being created, as the runtime's OCI state names it."""

    container_id: str
    pid: int
    bundle: Path


def parse_request(data: bytes) -> HookRequest:
    """The request in one JSON line (ValueError saying what is wrong)."""
    try:
        state = json.loads(data)
        request = HookRequest(str(state["id"]), int(state["pid"]), Path(str(state["bundle"])))
    except (KeyError, TypeError) as e:
        raise ValueError(f"not an OCI state (id, pid, bundle): {e}") from e
    if not request.container_id or request.pid <= 0:
        raise ValueError("not an OCI state: no container id or init pid")
    return request


def rootfs_of(bundle: Path) -> Path:
    """The container's root filesystem on this host: root.path of the bundle's config.json."""
    spec: Any = json.loads((bundle / "config.json").read_text())
    root = Path(str(spec["root"]["path"]))
    return root if root.is_absolute() else bundle / root


class GuardAtCreate:
    """Answers hook requests: guards a protected group's container before it runs."""

    def __init__(self, protection: Protection, runtimes: Sequence[ContainerRuntime]) -> None:
        self._protection = protection
        self._runtimes = [r for r in runtimes if r.unavailable_reason() is None]

    def __call__(self, request: HookRequest) -> dict[str, Any]:
        """The answer to one request."""
        container = self._describe(request.container_id)
        if container is None:
            return {"ok": True, "guarded": False}  # no runtime here knows it: not ours
        container = msgspec.structs.replace(container, pid=request.pid)  # state.json may lag
        try:
            guarded = self._protection.guard_at_create(container, rootfs_of(request.bundle))
        except (OSError, ValueError, KeyError, TypeError, RespondError) as e:
            log.warning("protect: container %s not guarded at create: %s", container.short_id, e)
            return {"ok": False, "error": str(e)}
        return {"ok": True, "guarded": guarded}

    def _describe(self, container_id: str) -> Container | None:
        for runtime in self._runtimes:
            try:
                found = runtime.describe(container_id, 0)
            except Exception:  # one runtime's unreadable metadata must not stop the others
                log.debug("oci hook: %s cannot describe %s", runtime.id, container_id[:12])
                continue
            if found is not None:
                return found
        return None


class HookServer:
    """Serves hook requests on a root-only unix socket, one thread, until closed."""

    def __init__(self, path: Path, answer: Callable[[HookRequest], dict[str, Any]]) -> None:
        self.path = path
        self._answer = answer
        path.unlink(missing_ok=True)  # left by an agent that did not stop cleanly
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600: only root may ask to guard (or not) containers
        try:
            self._socket.bind(str(path))
        finally:
            os.umask(old)
        self._socket.listen(64)
        self._socket.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stockade-oci-hook", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(_REQUEST_TIMEOUT_S)
        try:
            data = b""
            while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                answer = self._answer(parse_request(data))
            except ValueError as e:
                answer = {"ok": False, "error": str(e)}
            conn.sendall(json.dumps(answer).encode() + b"\n")
        except OSError as e:
            log.warning("oci hook: a request was lost: %s", e)

    def close(self) -> None:
        """Stop serving and remove the socket."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._socket.close()
        self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class HookSettings:
    """Where the agent installs the OCI hook (None: not installed) and how the hook acts."""

    hooks_dir: Path | None = None
    fail_closed: bool = False  # no answer from the agent: refuse to start the container
    deadline_s: float = DEFAULT_DEADLINE_S


def start_hook_guard(
    protection: Protection, state_dir: Path, settings: HookSettings
) -> Callable[[], None]:
    """Serve hook requests on `state_dir`'s socket and install the hook where configured;
    returns what removes both."""
    server = HookServer(state_dir / SOCKET_NAME, GuardAtCreate(protection, all_runtimes()))
    installed = None
    if settings.hooks_dir is not None:
        try:
            installed = install_hook(
                settings.hooks_dir, server.path, settings.deadline_s, settings.fail_closed
            )
            log.info("protect: OCI hook installed at %s", installed)
        except OSError as e:
            log.warning("protect: cannot install the OCI hook in %s: %s", settings.hooks_dir, e)

    def stop() -> None:
        if installed is not None and settings.hooks_dir is not None:
            remove_hook(settings.hooks_dir)
        server.close()

    return stop
