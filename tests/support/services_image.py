"""An image of nats-server and PostgreSQL 15 made from this host's Debian packages, standing
in for compose.yaml's registry images (no registry is reachable here).

The image is imported from a tar of the binaries, the libraries `ldd` names for them,
PostgreSQL's share files and busybox for a shell: seconds to make, nothing downloaded.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.support.ci import require
from tests.support.podman import Podman

SERVICES_IMAGE = "localhost/stockade-test-services:latest"
PG = Path("/usr/lib/postgresql/15")
PG_PROGRAMS = ("postgres", "initdb", "pg_ctl", "pg_isready")
NATS = Path("/usr/sbin/nats-server")
POSTGRES_UID = 999
# Starts PostgreSQL as compose.yaml's postgres service is configured (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB), making the cluster on the first start, as the official
# image's entrypoint does.
POSTGRES_START = """
set -e
data=/var/lib/postgresql/data/pgdata
mkdir -p "$data" && chown -R postgres /var/lib/postgresql/data && chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw && chown postgres /tmp/pw
  su postgres -s /bin/sh -c "initdb -D $data -U $POSTGRES_USER --pwfile=/tmp/pw \
    -A scram-sha-256 -E UTF8 --locale=C >/dev/null"
  rm /tmp/pw
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
  echo "CREATE DATABASE $POSTGRES_DB" | su postgres -s /bin/sh -c \
    "postgres --single -D $data postgres >/dev/null"
fi
exec su postgres -s /bin/sh -c "exec postgres -D $data -c listen_addresses='*' -c jit=off"
"""


def _libraries(programs: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for program in programs:
        out = subprocess.run(["ldd", str(program)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            path = next((p for p in parts if p.startswith("/")), None)
            if path:
                found.add(Path(path))
    return found


def _add_text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, uid: int = 0, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, uid
    tar.addfile(info)


def _rootfs(path: Path) -> None:
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    programs = [NATS, *(PG / "bin" / p for p in PG_PROGRAMS)]
    with tarfile.open(path, "w") as tar:
        for directory in ("bin", "etc", "tmp", "data", "var/lib/postgresql/data", "run"):
            _add_dir(tar, directory, mode=0o1777 if directory == "tmp" else 0o755)
        _add_dir(tar, "var/run/postgresql", uid=POSTGRES_UID, mode=0o775)
        tar.add(busybox, "bin/busybox")
        for applet in ("sh", "su", "mkdir", "chown", "chmod", "echo", "rm", "cat"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for program in programs:
            tar.add(program, str(program).lstrip("/"))
        for library in _libraries(programs):
            tar.add(library.resolve(), str(library).lstrip("/"))
        tar.add(PG / "lib", str(PG / "lib").lstrip("/"), filter=_without_bitcode)
        for shared in (Path("/usr/share/postgresql/15"), Path("/usr/share/zoneinfo")):
            tar.add(shared, str(shared).lstrip("/"))
        passwd = (
            f"root:x:0:0::/root:/bin/sh\npostgres:x:{POSTGRES_UID}:{POSTGRES_UID}::/tmp:/bin/sh\n"
        )
        _add_text(tar, "etc/passwd", passwd)
        _add_text(tar, "etc/group", f"root:x:0:\npostgres:x:{POSTGRES_UID}:\n")
        for name in ("pg_isready", "initdb", "postgres"):
            link = tarfile.TarInfo(f"usr/bin/{name}")
            link.type, link.linkname = tarfile.SYMTYPE, str(PG / "bin" / name)
            tar.addfile(link)


def _without_bitcode(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "/bitcode" in info.name else info  # the JIT's, and jit is off


def services_image(podman: Podman, work: Path) -> str:
    """Import the image (again each session: it takes seconds); its name."""
    require(NATS.exists() and (PG / "bin" / "postgres").exists(), "nats-server or postgresql-15")
    require(shutil.which("busybox"), "busybox-static not installed")
    tar = work / "services-rootfs.tar"
    _rootfs(tar)
    podman.cmd("import", "-q", str(tar), SERVICES_IMAGE)
    return SERVICES_IMAGE
