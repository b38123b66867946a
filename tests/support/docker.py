"""A Docker Engine of a test's own (Debian's docker.io): data, exec root and socket in a temp dir.

Started as `dockerd --data-root D --exec-root E --pidfile P -H unix://SOCK` with no
iptables rules and no bridge (tests only load and save images, they run no container), so
it neither touches the host's network nor an existing /var/lib/docker. dockerd starts its
own containerd under the exec root unless one answers at /run/containerd/containerd.sock.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path
from typing import IO

from tests.support.polling import poll_value


def unavailable_reason() -> str | None:
    """None when dockerd and the docker CLI are installed, else what is missing."""
    for tool in ("dockerd", "docker"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package docker.io)"
    return None


class Dockerd:
    """One dockerd daemon on a unix socket under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.socket = workdir / "docker.sock"
        self.host = f"unix://{self.socket}"
        self._data_root = workdir / "data"
        self._exec_root = workdir / "exec"
        self._pidfile = workdir / "docker.pid"
        self._log = workdir / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the daemon and wait until `docker version` gets an answer from it."""
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    "dockerd",
                    *("--data-root", str(self._data_root), "--exec-root", str(self._exec_root)),
                    *("--pidfile", str(self._pidfile), "-H", self.host),
                    *("--iptables=false", "--ip6tables=false", "--bridge=none"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            poll_value(self._answers, bool, timeout_s, "dockerd to answer on its socket")
        except AssertionError as error:
            self.stop()
            raise RuntimeError(f"dockerd did not start: {self._log.read_text()[-2000:]}") from error

    def _answers(self) -> bool:
        if self._process is None or self._process.poll() is not None:
            raise AssertionError("dockerd exited")
        return self.socket.is_socket() and self.docker("version", check=False).returncode == 0

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon; a failure carries docker's message."""
        done = subprocess.run(
            ["docker", "--host", self.host, *args], capture_output=True, text=True, timeout=120
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
        return done

    def stop(self) -> None:
        """Stop the daemon (it stops the containerd it started)."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def docker_archive_from_oci(oci_archive: Path, name: str, out: Path) -> Path:
    """A copy of a single-image OCI archive that `docker load` (20.10) reads: the same
    blobs plus a `manifest.json` naming the config, the layers and the tag `name`."""
    with tarfile.open(oci_archive) as source, tarfile.open(out, "w") as target:
        index = json.load(_member(source, "index.json"))
        manifest = json.load(_member(source, _blob(index["manifests"][0]["digest"])))
        entry = {
            "Config": _blob(manifest["config"]["digest"]),
            "RepoTags": [name],
            "Layers": [_blob(layer["digest"]) for layer in manifest["layers"]],
        }
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        data = json.dumps([entry]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        target.addfile(info, io.BytesIO(data))
    return out


def _blob(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    member = archive.extractfile(name)
    if member is None:
        raise RuntimeError(f"{name}: not a file in the archive")
    return member
