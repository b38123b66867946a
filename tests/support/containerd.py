"""A containerd of a test's own: its root, state, socket and config under a temp dir.

Started as `containerd --root R --state S --address SOCK --config C` with the CRI plugin
and the snapshotters this machine cannot use switched off, so it boots in well under a
second. Containers run with runc (the runtime v2 shim `io.containerd.runc.v2`) and
cgroupfs paths. containerd and its shim keep a few fixed paths under /run/containerd
(`s/` shim sockets, `runc/<namespace>/`, `fifo/`); ids are unique per test run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

RUNC_ROOT = Path("/run/containerd/runc")  # the runc shim's default --root, not per daemon
CONFIG = """\
version = 2
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
"""


def unavailable_reason() -> str | None:
    """None when containerd, ctr and runc are installed, else what is missing."""
    for tool in ("containerd", "ctr", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package containerd)"
    return None


class Containerd:
    """One containerd daemon; remembers the containers it ran so `stop` can remove them."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "root"
        self.state = workdir / "state"
        self.address = workdir / "containerd.sock"
        self.task_root = self.state / "io.containerd.runtime.v2.task"
        self._config = workdir / "config.toml"
        self._log = workdir / "containerd.log"
        self._started: list[tuple[str, str]] = []
        self._cgroup_parents: set[str] = set()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the daemon and wait until it answers on its socket."""
        self._config.write_text(CONFIG)
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    "containerd",
                    "--root",
                    str(self.root),
                    "--state",
                    str(self.state),
                    "--address",
                    str(self.address),
                    "--config",
                    str(self._config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.address.is_socket() and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"containerd did not start: {self._log.read_text()[-2000:]}")

    def ctr(
        self, *args: str, namespace: str = "default", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `ctr` against this daemon in a namespace; a failure carries ctr's message."""
        done = subprocess.run(
            ["ctr", "--address", str(self.address), "--namespace", namespace, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)}: {done.stderr.strip()}")
        return done

    def import_image(self, archive: Path, namespace: str) -> dict[str, str]:
        """Import an OCI archive; returns {image name: target digest} as ctr lists them."""
        self.ctr("images", "import", str(archive), namespace=namespace)
        listing = self.ctr("images", "list", namespace=namespace).stdout.splitlines()[1:]
        return {cols[0]: cols[2] for cols in (line.split() for line in listing) if cols}

    def run_detached(
        self, namespace: str, image: str, cid: str, *args: str, cgroup: str = ""
    ) -> int:
        """`ctr run -d [args...] IMAGE ID sleep 60`; returns the task's init pid.

        The task's cgroup is `cgroup`, by default ctr's `/<namespace>/<id>`.
        """
        cgroup = cgroup or f"/{namespace}/{cid}"
        self.ctr(
            "run", "-d", "--cgroup", cgroup, *args, image, cid, "sleep", "60", namespace=namespace
        )
        self._started.append((namespace, cid))
        parents = Path(cgroup.strip("/")).parents
        self._cgroup_parents.update(str(p) for p in parents if str(p) != ".")
        return int((self.task_root / namespace / cid / "init.pid").read_text())

    def stop(self) -> None:
        """Remove the containers this daemon ran, then stop it."""
        namespaces = {namespace for namespace, _ in self._started}
        for namespace, cid in reversed(self._started):
            self.ctr("tasks", "kill", "--signal", "SIGKILL", cid, namespace=namespace, check=False)
            for _ in range(100):
                gone = self.ctr("tasks", "delete", cid, namespace=namespace, check=False)
                if gone.returncode == 0 or "not found" in gone.stderr:
                    break
                time.sleep(0.05)
            self.ctr("containers", "delete", cid, namespace=namespace, check=False)
        self._started.clear()
        for namespace in namespaces:  # runc's state dirs for them, when left empty
            with contextlib.suppress(OSError):
                (RUNC_ROOT / namespace).rmdir()
        _remove_cgroup_dirs(sorted(self._cgroup_parents, key=len, reverse=True))
        self._cgroup_parents.clear()
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def _remove_cgroup_dirs(relative: list[str]) -> None:
    """Remove the (now empty) parent cgroups the tasks' paths created, in every hierarchy."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        for rel in relative:
            with contextlib.suppress(OSError):  # not in this hierarchy, or still in use
                (hierarchy / rel).rmdir()
