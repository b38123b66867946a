"""An image with real attack and admin tools: the corpus's Debian image plus programs
copied from this host (with the shared libraries they load), built with a COPY-only
Containerfile because no registry or package mirror is reachable from a build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.podman import Podman

TOOLS_IMAGE = "localhost/stockade-test-tools:2"
# Programs as installed by Debian packages on this host (the install script's test group),
# and the data directories they need beside them.
TOOL_PROGRAMS = (
    "/usr/bin/nc.openbsd",
    "/usr/bin/nc.traditional",
    "/usr/bin/socat",
    "/usr/bin/nmap",
    "/usr/bin/python3.11",
    "/usr/bin/strace",
    "/usr/bin/curl",
    "/usr/bin/busybox",
)
TOOL_DATA = ("/usr/share/nmap", "/usr/lib/python3.11")
TOOL_LINKS = {
    "/usr/bin/nc": "nc.openbsd",
    "/usr/bin/python3": "python3.11",
    "/usr/sbin/httpd": "/usr/bin/busybox",
}


def missing_tools() -> str | None:
    """None when every program to copy is installed, else the first one missing."""
    for path in (*TOOL_PROGRAMS, *TOOL_DATA):
        if not Path(path).exists():
            return f"{path} not installed (scripts/install-system-deps.sh test)"
    return None


def _libraries(program: str) -> set[Path]:
    out = subprocess.run(["ldd", program], capture_output=True, text=True, check=False).stdout
    found: set[Path] = set()
    for line in out.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0] if words else ""
        if path.startswith("/"):
            found.add(Path(path))
    return found


def _copy(source: Path, root: Path) -> None:
    """Copy under `root` by the name it is loaded by, in its real directory (/lib is /usr/lib)."""
    target = root / str(source.parent.resolve() / source.name).lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("test"))
    else:
        shutil.copy2(source.resolve(), target)


def copy_program(program: str, root: Path) -> None:
    """Copy `program` and the shared libraries it loads under `root`, as an image's files."""
    for path in {Path(program), *_libraries(program)}:
        _copy(path, root)


def build_tools_image(podman: Podman, base: str, workdir: Path) -> str:
    """Build (once per host) the tools image on top of `base`; returns its name."""
    if podman.cmd("image", "exists", TOOLS_IMAGE, check=False).returncode == 0:
        return TOOLS_IMAGE
    root = workdir / "root"
    for program in TOOL_PROGRAMS:
        copy_program(program, root)
    for data in TOOL_DATA:
        _copy(Path(data), root)
    for link, target in TOOL_LINKS.items():
        (root / link.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / link.lstrip("/")).symlink_to(target)
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY root/ /\n")
    podman.cmd("build", "-t", TOOLS_IMAGE, str(workdir), timeout=600)
    return TOOLS_IMAGE
