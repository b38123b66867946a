"""Build the CO-RE object: vmlinux.h from the running kernel's BTF, then clang -target bpf.

The package build compiles it once (shipped.py); on a host, it is built only when the
shipped object is missing or cannot load there. A host build is cached under a key made
of the kernel BTF and the C sources. Nothing built is committed to the repository.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from stockade.sensor.base import SensorError
from stockade.sensor.bpf.kinds import kinds_header

BTF_PATH = Path("/sys/kernel/btf/vmlinux")
_ARCH = {"x86_64": "x86", "aarch64": "arm64"}


class BpfBuildError(SensorError):
    """The BPF object could not be built (missing tool, compiler error)."""


def cache_root() -> Path:
    """Where built objects live: $STOCKADE_BPF_CACHE, /var/cache/stockade/bpf as root, else XDG."""
    if env := os.environ.get("STOCKADE_BPF_CACHE"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/cache/stockade/bpf")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "stockade" / "bpf"


def c_sources() -> dict[str, bytes]:
    """The C sources shipped with the package, by file name (plus the generated kinds.h)."""
    pkg = resources.files("stockade.sensor.bpf") / "c"
    files = {p.name: p.read_bytes() for p in pkg.iterdir() if p.name.endswith((".c", ".h"))}
    files["kinds.h"] = kinds_header().encode()
    return files


def build_key(btf: bytes, sources: dict[str, bytes]) -> str:
    """A hash of the kernel BTF and the C sources; the cache directory's name."""
    h = hashlib.sha256(btf)
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name] + b"\0")
    return h.hexdigest()[:24]


def missing_tool() -> str | None:
    """The first build tool that is not installed, or None."""
    for tool in ("clang", "bpftool"):
        if shutil.which(tool) is None:
            return tool
    return None


def sources_key(sources: dict[str, bytes]) -> str:
    """A hash of the C sources alone: what a shipped object records it was built from."""
    return build_key(b"", sources)


def build_object(cache: Path | None = None) -> Path:
    """Return the path of the compiled object, building it first when not cached."""
    sources = c_sources()
    try:
        btf = BTF_PATH.read_bytes()
    except OSError as e:
        raise BpfBuildError(f"cannot read kernel BTF at {BTF_PATH}: {e}") from e
    obj = (cache or cache_root()) / build_key(btf, sources) / "sensor.bpf.o"
    if not obj.is_file():
        compile_object(sources, obj)
    return obj


def compile_object(sources: dict[str, bytes], obj: Path) -> None:
    """Compile `sources` into the CO-RE object `obj` against this machine's kernel BTF."""
    if tool := missing_tool():
        raise BpfBuildError(f"{tool} is not installed (apt-get install clang llvm bpftool)")
    # Each builder works in its own directory; the object is renamed into place at the
    # end, so concurrent builders (agent, tests, CLI) never see half-written files.
    work = obj.parent / f".build-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        for name, data in sources.items():
            (work / name).write_bytes(data)
        _run(["bpftool", "btf", "dump", "file", str(BTF_PATH), "format", "c"], work / "vmlinux.h")
        arch = _ARCH.get(platform.machine(), platform.machine())
        cmd = ["clang", "-O2", "-g", "-target", "bpf", f"-D__TARGET_ARCH_{arch}", "-I", str(work)]
        _run([*cmd, "-c", str(work / "sensor.bpf.c"), "-o", str(work / "sensor.bpf.o")])
        (work / "sensor.bpf.o").replace(obj)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], stdout_to: Path | None = None) -> None:
    try:
        if stdout_to is None:
            subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        else:
            with stdout_to.open("wb") as out:
                subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.PIPE, timeout=300)
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace").strip()
        raise BpfBuildError(f"{cmd[0]} failed: {err[-2000:]}") from e
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BpfBuildError(f"{cmd[0]} failed: {e}") from e
