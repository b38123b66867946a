"""An image with a real OpenSSH server and client: the corpus's Debian image plus sshd, ssh
and ssh-keygen copied from this host (openssh-server, the install script's test group)
with the shared libraries they load, built with a COPY-only Containerfile."""

from __future__ import annotations

from pathlib import Path

from tests.support.podman import Podman
from tests.support.tools_image import copy_program

SSH_IMAGE = "localhost/stockade-test-ssh:1"
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
# The privilege separation user sshd needs, and a root password the guesses miss.
SETUP = (
    "mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh && "
    "echo 'sshd:x:74:65534::/run/sshd:/usr/sbin/nologin' >> /etc/passwd && "
    "echo 'root:correct-horse-battery' | chpasswd && "
    "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && "
    "exec /usr/sbin/sshd -D -e"
)
SERVER_COMMAND = ("bash", "-c", SETUP)


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
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY root/ /\n")
    podman.cmd("build", "-t", SSH_IMAGE, str(workdir), timeout=600)
    return SSH_IMAGE
