"""Benign container work for the false-positive benchmark: images built from this host's
programs (no registry), long-running services with their clients, and one-shot jobs."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.podman import BASE_FLAGS, Podman
from tests.support.polling import poll_until
from tests.support.ssh_image import KEYS_ONLY_COMMAND, build_ssh_image
from tests.support.tools_image import build_tools_image, copy_program

DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"
REDIS_IMAGE = "localhost/stockade-bench-redis:1"
BUILT_IMAGE = "localhost/stockade-bench-fp-build:latest"
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
# Each client round is paced by a sleep inside its container so the services stay busy
# without taking both cores from the sensor.
WEB_LOAD = (
    "mkdir -p /srv && echo hello > /srv/index.html && busybox httpd -p 127.0.0.1:8080 -h /srv && "
    "while :; do curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null "
    "http://127.0.0.1:8080/ http://127.0.0.1:8080/ http://127.0.0.1:8080/index.html "
    "http://127.0.0.1:8080/missing; sleep 0.2; done"
)
DB_LOAD = (
    "redis-server --save '' --appendonly no --daemonize yes --bind 127.0.0.1 && "
    "until redis-benchmark -q -n 1 -t ping >/dev/null 2>&1; do sleep 0.1; done; "
    "while :; do redis-benchmark -q -n 4000 -c 8 -t set,get,incr,lpush >/dev/null; sleep 1; done"
)
CRONTAB = "* * * * * date >> /tmp/cron.log && ls /etc > /dev/null && gzip -kf /tmp/cron.log\n"
# A small C project built and run again and again, in a workspace mounted from the host
# (as CI jobs do) with the host's toolchain mounted read-only.
COMPILE = (
    "cd /workspace && for i in $(seq 12); do "
    'printf "int f$i(int x) { return x * $i; }\\n" > f$i.c; done && '
    "printf 'int main(void) { return 0; }\\n' > main.c && "
    "printf 'all: app\\napp: $(patsubst %%.c,%%.o,$(wildcard *.c))\\n\\t$(CC) -o $@ $^\\n' "
    "> Makefile && while :; do rm -f *.o app; make -s -j2 CC=gcc; "
    "./app; sleep 1; done"
)
# A key login about every 10 s from one address: the brute-force correlation counts
# connections, and ten new ones a minute from one client look like guesses to it.
SSH_LOGINS = f"while :; do ssh {SSH_OPTIONS} root@127.0.0.1 'id; uptime; ls /'; sleep 8; done"
# A real package install in a build step: a small .deb built and installed by dpkg.
BUILD = """\
FROM {base}
RUN mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/local/bin \\
 && printf 'Package: hello-fp\\nVersion: 1\\nArchitecture: all\\n' > /tmp/pkg/DEBIAN/control \\
 && printf 'Maintainer: t\\nDescription: t\\n' >> /tmp/pkg/DEBIAN/control \\
 && cp /bin/true /tmp/pkg/usr/local/bin/hello-fp \\
 && dpkg-deb --build /tmp/pkg /tmp/hello.deb >/dev/null && dpkg -i /tmp/hello.deb >/dev/null \\
 && apt-get -s install apt >/dev/null && hello-fp && rm -rf /tmp/pkg /tmp/hello.deb
"""


@dataclass
class Images:
    """The images the workload runs."""

    debian: str
    tools: str
    ssh: str
    redis: str
    busybox: str


def build_images(podman: Podman, corpus: Path, workdir: Path) -> Images:
    """Load or build (once per host) every image the workload needs."""
    debian = podman.load_image(corpus / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    return Images(
        debian=debian,
        tools=build_tools_image(podman, debian, workdir / "tools"),
        ssh=build_ssh_image(podman, debian, workdir / "ssh"),
        redis=_build_redis_image(podman, debian, workdir / "redis"),
        busybox=podman.build_busybox_image(workdir),
    )


def _build_redis_image(podman: Podman, base: str, workdir: Path) -> str:
    if podman.cmd("image", "exists", REDIS_IMAGE, check=False).returncode == 0:
        return REDIS_IMAGE
    for program in ("/usr/bin/redis-server", "/usr/bin/redis-benchmark"):
        copy_program(program, workdir / "root")
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY root/ /\n")
    podman.cmd("build", "-t", REDIS_IMAGE, str(workdir), timeout=600)
    return REDIS_IMAGE


@dataclass
class Workload:
    """The containers the benchmark started (by name and id) and its running image builds."""

    podman: Podman
    images: Images
    workdir: Path
    names: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    builds: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, image: str, *command: str, extra: tuple[str, ...] = ()) -> str:
        """Start a container in the background; returns its name."""
        name = f"stockade-fp-{uuid.uuid4().hex[:8]}"
        self.ids.add(self.podman.run_detached(image, *command, name=name, extra=extra))
        self.names.append(name)
        return name

    def start_services(self) -> None:
        """A web server, a database, cron, a compiler build and SSH logins, all under load."""
        self.run(self.images.tools, "bash", "-c", WEB_LOAD)
        self.run(self.images.redis, "bash", "-c", DB_LOAD)
        crontabs, workspace = self.workdir / "crontabs", self.workdir / "workspace"
        crontabs.mkdir()
        (crontabs / "root").write_text(CRONTAB)
        workspace.mkdir()
        cron_mount = ("-v", f"{crontabs}:/etc/crontabs:ro")
        self.run(self.images.tools, "busybox", "crond", "-f", extra=cron_mount)
        compile_mounts = ("-v", "/usr:/usr:ro", "-v", f"{workspace}:/workspace")
        self.run(self.images.debian, "bash", "-c", COMPILE, extra=compile_mounts)
        self._start_ssh()

    def _start_ssh(self) -> None:
        server = self.run(self.images.ssh, *KEYS_ONLY_COMMAND)
        poll_until(
            lambda: (
                " 00000000:0016 00000000:0000 0A "
                in self.podman.exec(server, "cat", "/proc/net/tcp", check=False).decode()
            ),
            30,
            "sshd listening on port 22",
        )
        keygen = "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 && cat /root/.ssh/*.pub"
        client = self.run(
            self.images.ssh, "sleep", "infinity", extra=("--network", f"container:{server}")
        )
        key = self.podman.exec(client, "bash", "-c", keygen)
        self.podman.cmd(
            "exec", "-i", server, "bash", "-c", "cat >> /root/.ssh/authorized_keys", input=key
        )
        self.podman.cmd("exec", "-d", client, "bash", "-c", SSH_LOGINS)

    def cycle_container(self, index: int) -> None:
        """Start a short-lived container, exec into it and stop it (kept until the end)."""
        image, shell = (self.images.busybox, "sh") if index % 2 else (self.images.debian, "bash")
        name = self.run(image, "sleep", "600")
        self.podman.exec(name, shell, "-c", "echo hello > /tmp/greeting && cat /tmp/greeting")
        self.podman.cmd("stop", "-t", "0", name)

    def start_image_build(self) -> None:
        """`podman build` with a RUN step that installs a local .deb with dpkg."""
        context = self.workdir / f"build-{len(self.builds)}"
        context.mkdir(parents=True)
        (context / "Containerfile").write_text(BUILD.format(base=self.images.debian))
        args = ["build", "--no-cache", "--network", "none", "-t", BUILT_IMAGE, str(context)]
        self.builds.append(
            subprocess.Popen(["podman", *BASE_FLAGS, *args], stdout=subprocess.DEVNULL)
        )

    def stop(self) -> None:
        """Remove every container (clients first: they share their server's network)."""
        for build in self.builds:
            build.wait(300)
        for name in reversed(self.names):
            self.podman.remove(name)
        self.podman.cmd("rmi", "-f", BUILT_IMAGE, check=False)
