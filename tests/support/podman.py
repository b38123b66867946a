"""A thin wrapper over the podman CLI with the flags that work on these machines."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

BASE_FLAGS = ("--runtime", "runc", "--cgroup-manager", "cgroupfs")
RUN_FLAGS = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")
BUSYBOX_IMAGE = "localhost/stockade-test-busybox:latest"
BUSYBOX_APPLETS = (
    "sh",
    "ash",
    "ls",
    "cat",
    "sleep",
    "echo",
    "id",
    "touch",
    "rm",
    "nc",
    "wget",
    "true",
    "false",
    "chmod",
    "mkdir",
    "env",
    "ps",
    "kill",
    "head",
)


class Podman:
    """Runs podman; remembers the containers it started so a session can remove them."""

    def __init__(
        self, global_args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        self._started: list[str] = []
        self._global = global_args  # e.g. a separate store: --root DIR --runroot DIR
        self._env = env

    def cmd(
        self, *args: str, check: bool = True, timeout: float = 120, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `podman ARGS` with this machine's runtime flags."""
        return subprocess.run(
            ["podman", *BASE_FLAGS, *self._global, *args],
            check=check,
            timeout=timeout,
            capture_output=True,
            input=input,
            env=self._env,
        )

    def run_detached(
        self, image: str, *command: str, name: str | None = None, extra: tuple[str, ...] = ()
    ) -> str:
        """Start a container in the background; returns its full 64-hex id."""
        args = ["run", "-d", *RUN_FLAGS, *extra]
        if name:
            args += ["--name", name]
        out = self.cmd(*args, image, *command).stdout.decode().strip()
        container_id = out.splitlines()[-1]
        self._started.append(container_id)
        return container_id

    def popen(
        self, image: str, *command: str, name: str | None = None, extra: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        """Start `podman run -i` attached to pipes (for feeding a shell from a pipe)."""
        args = ["podman", *BASE_FLAGS, *self._global, "run", "-i", "--rm", *RUN_FLAGS, *extra]
        if name:
            args += ["--name", name]
            self._started.append(name)
        return subprocess.Popen(
            [*args, image, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
        )

    def exec(self, container: str, *command: str, check: bool = True) -> bytes:
        """Run a command inside a running container; returns its stdout."""
        return self.cmd("exec", container, *command, check=check).stdout

    def inspect_id(self, name: str) -> str:
        """The full id of a container by name."""
        return self.cmd("inspect", "--format", "{{.Id}}", name).stdout.decode().strip()

    def interactive_shell(self, image: str) -> tuple[str, str, subprocess.Popen[bytes]]:
        """Run `sh -i` in a new container fed from a pipe; returns (name, full id, process)."""
        name = f"e2e-shell-{uuid.uuid4().hex[:8]}"
        shell = self.popen(image, "sh", "-i", name=name)
        assert shell.stdin is not None and shell.stdout is not None
        shell.stdin.write(b"echo shell-is-up\n")
        shell.stdin.flush()
        lines: list[bytes] = []
        while len(lines) < 20 and not any(b"shell-is-up" in line for line in lines):
            lines.append(shell.stdout.readline())
        assert any(b"shell-is-up" in line for line in lines), f"no answer from the shell: {lines}"
        return name, self.inspect_id(name), shell

    def remove(self, container: str) -> None:
        """Remove a container at once (busybox as PID 1 ignores SIGTERM)."""
        self.cmd("rm", "-f", "-t", "0", container, check=False)

    def remove_started(self) -> None:
        """Remove every container this wrapper started, in one `podman rm` (one per
        container took seconds at the end of a session)."""
        if self._started:
            self.cmd("rm", "-f", "-i", "-t", "0", *self._started, check=False, timeout=300)
        self._started.clear()

    def load_image(self, archive: Path, name: str) -> str:
        """Load (once per host) an OCI archive and tag it `name`; returns `name`."""
        if self.cmd("image", "exists", name, check=False).returncode != 0:
            loaded = self.cmd("load", "-i", str(archive)).stdout.decode().strip()
            self.cmd("tag", loaded.rsplit("Loaded image: ", 1)[-1].splitlines()[0], name)
        return name

    def build_busybox_image(self, workdir: Path, name: str = BUSYBOX_IMAGE) -> str:
        """Build a busybox-static image with `podman import` (no registry needed)."""
        if self.cmd("image", "exists", name, check=False).returncode == 0:
            return name
        busybox = shutil.which("busybox")
        if busybox is None:
            raise RuntimeError("busybox-static is not installed")
        rootfs = workdir / "rootfs.tar"
        with tarfile.open(rootfs, "w") as tar:
            for d in ("bin", "tmp", "etc", "root", "proc", "sys", "dev"):
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
            tar.add(busybox, arcname="bin/busybox")
            for applet in BUSYBOX_APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                tar.addfile(link)
            passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
            info = tarfile.TarInfo("etc/passwd")
            info.size = len(passwd)
            import io

            tar.addfile(info, io.BytesIO(passwd))
        self.cmd("import", "--change", "CMD=/bin/sh", str(rootfs), name)
        return name
