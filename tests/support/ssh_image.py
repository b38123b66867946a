"""An image with a real OpenSSH server and client: the corpus's Debian image plus sshd, ssh
and ssh-keygen copied from this host (openssh-server, the install script's test group)
with the shared libraries they load, built with a COPY-only Containerfile."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.podman import RUN_FLAGS, Podman
from tests.support.tools_image import copy_program

SSH_IMAGE = "localhost/stockade-test-ssh:2"
PROGRAMS = ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen")
# Keys and passwords only, no PAM: the container has no PAM stack for sshd.
SSHD_CONFIG = """\
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM no
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
MaxAuthTries 2
PidFile /run/sshd.pid
"""
# The image holds sshd's privilege separation user, its host key and root's .ssh, as a
# real image would; a server started with SERVER_COMMAND sets a root password the
# guesses miss, one with KEYS_ONLY_COMMAND accepts keys only (and writes nothing to /etc).
SSHD = "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"
SERVER_COMMAND = ("bash", "-c", f"echo 'root:correct-horse-battery' | chpasswd && {SSHD}")
KEYS_ONLY_COMMAND = ("bash", "-c", SSHD)


def missing_programs() -> str | None:
    """None when the programs to copy are installed, else the first one missing."""
    for path in PROGRAMS:
        if not Path(path).exists():
            return f"{path} not installed (scripts/install-system-deps.sh test: openssh-server)"
    return None


def build_ssh_image(podman: Podman, base: str, workdir: Path) -> str:
    """Build (once per host) the SSH image on top of `base`; returns its name."""
    if podman.cmd("image", "exists", SSH_IMAGE, check=False).returncode == 0:
        return SSH_IMAGE
    root = workdir / "root"
    for program in PROGRAMS:
        copy_program(program, root)
    (root / "etc" / "ssh").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "ssh" / "sshd_config").write_text(SSHD_CONFIG)
    passwd = podman.cmd("run", "--rm", *RUN_FLAGS, base, "cat", "/etc/passwd").stdout.decode()
    (root / "etc" / "passwd").write_text(passwd + "sshd:x:74:65534::/run/sshd:/usr/sbin/nologin\n")
    host_key = root / "etc" / "ssh" / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    (root / "root" / ".ssh").mkdir(mode=0o700, parents=True)
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY root/ /\n")
    podman.cmd("build", "-t", SSH_IMAGE, str(workdir), timeout=600)
    return SSH_IMAGE
