"""The sensor's maps and links pinned in bpffs, so the kernel keeps recording between agents.

Layout under the pin root (default /sys/fs/bpf/stockade):

- `maps/<name>`: every map of the object (the ring buffer, the drop counters, the config,
  the syscall stash ...). A new process reuses each pinned map whose shape (type, key and
  value size, entries, flags) matches its object's, so records written while no agent ran
  wait in the same ring, and a syscall entered under one program and left under another
  finds its arguments.
- `links/<object key>/<program>`: one attached link per program, grouped by the object
  they came from (the first 16 hex digits of its SHA-256). A link stays attached for as
  long as its pin exists, whatever happens to the process that made it.

`plan_links` decides, from what is pinned and what the rules need now, which links a
new process adopts, which programs it loads and attaches, and which pins it removes once
its own links are attached (programs no rule needs any more, or all links of another
object: an upgrade). The caller attaches before it detaches, so no call goes unrecorded.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stockade.sensor.bpf.libbpf import LibbpfError

PIN_ROOT = Path("/sys/fs/bpf/stockade")
BPFFS_MAGIC = 0xCAFE4A11
_INFO_U32S = 6  # struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags


@dataclass(frozen=True)
class LinkPlan:
    """What a starting sensor does with the pinned links, given the programs it wants."""

    adopt: frozenset[str]  # pinned links of this object, still wanted: kept as they are
    load: frozenset[str]  # wanted programs without a pinned link: loaded and attached
    detach: tuple[Path, ...]  # pins removed once the new links are attached
    replaced_objects: tuple[str, ...]  # keys of other objects whose links are replaced


@dataclass(frozen=True)
class PinLayout:
    """Where the maps and links of the sensor are pinned."""

    root: Path = PIN_ROOT

    def map_path(self, name: str) -> Path:
        """The pin of map `name`."""
        return self.root / "maps" / name

    def link_path(self, object_key: str, program: str) -> Path:
        """The pin of the link of `program` from the object with `object_key`."""
        return self.root / "links" / object_key / program

    def pinned_links(self) -> dict[str, dict[str, Path]]:
        """Pinned links by object key, then program name."""
        links = self.root / "links"
        if not links.is_dir():
            return {}
        return {
            d.name: {p.name: p for p in d.iterdir()} for d in sorted(links.iterdir()) if d.is_dir()
        }

    def has_pins(self) -> bool:
        """True when a ring buffer is pinned (an earlier agent left its sensor running)."""
        return self.map_path("events").exists()


def object_key(obj_path: Path) -> str:
    """Which object a link came from: the first 16 hex digits of the object's SHA-256."""
    return hashlib.sha256(obj_path.read_bytes()).hexdigest()[:16]


def plan_links(pinned: dict[str, dict[str, Path]], key: str, wanted: Iterable[str]) -> LinkPlan:
    """Adopt this object's pinned links still wanted; load the rest; drop all others."""
    wanted_set = frozenset(wanted)
    own = pinned.get(key, {})
    adopt = wanted_set & own.keys()
    detach = [path for name, path in own.items() if name not in wanted_set]
    others = tuple(k for k in pinned if k != key)
    for other in others:
        detach += pinned[other].values()
    return LinkPlan(adopt, wanted_set - adopt, tuple(detach), others)


def ensure_bpffs(root: Path) -> None:
    """Make sure `root`'s parent is a mounted bpffs (mounting it if needed), then create root."""
    base = root.parent
    if not _is_bpffs(base):
        base.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "bpf", "bpf", str(base)], capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0 or not _is_bpffs(base):
            raise LibbpfError(f"{base} is no bpffs and mounting one failed: {done.stderr.strip()}")
    (root / "maps").mkdir(parents=True, exist_ok=True)
    (root / "links").mkdir(parents=True, exist_ok=True)


def _is_bpffs(path: Path) -> bool:
    try:
        return _fs_magic(path) == BPFFS_MAGIC
    except OSError:
        return False


def _fs_magic(path: Path) -> int:
    """f_type of statfs(2) (os.statvfs does not report it)."""
    buf = (ctypes.c_long * 16)()  # struct statfs; f_type comes first
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.statfs(str(path).encode(), buf) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(path))
    return buf[0] & 0xFFFFFFFF


def map_shape(lib: ctypes.CDLL, fd: int) -> tuple[int, ...]:
    """(type, key size, value size, max entries, flags) of the map behind `fd`."""
    info = (ctypes.c_uint32 * _INFO_U32S)()
    size = ctypes.c_uint32(ctypes.sizeof(info))
    rc = lib.bpf_obj_get_info_by_fd(fd, info, ctypes.byref(size))
    if rc < 0:
        raise LibbpfError(f"reading a pinned map's info failed: {os.strerror(-rc)}")
    return (info[0], info[2], info[3], info[4], info[5])


def wanted_shape(lib: ctypes.CDLL, map_ptr: int) -> tuple[int, ...]:
    """The shape the object's map definition asks for, in `map_shape`'s order."""
    return (
        lib.bpf_map__type(map_ptr),
        lib.bpf_map__key_size(map_ptr),
        lib.bpf_map__value_size(map_ptr),
        lib.bpf_map__max_entries(map_ptr),
        lib.bpf_map__map_flags(map_ptr),
    )


def unpin(root: Path = PIN_ROOT) -> int:
    """Remove every pin under `root` (links first: their programs detach); returns how many."""
    if not root.exists():
        return 0
    count = sum(1 for p in root.rglob("*") if not p.is_dir())
    shutil.rmtree(root / "links", ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    if root.exists():
        raise LibbpfError(f"could not remove every pin under {root}")
    return count
