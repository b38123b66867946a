"""The CO-RE object built with the package, and the host build as its fallback.

The package build compiles `sensor.bpf.o` once (setup.py) and ships it beside a stamp
naming the C sources it came from. Its BTF relocations let one object load on many
kernels, so a host needs neither clang nor bpftool. Where it is missing, stale (other C
sources) or refused by the kernel, the object is built on the host instead, and one log
line says why: a warning for an installed package, a debug line in a source checkout, where
building on the host is the normal way. `$STOCKADE_BPF_OBJECT` names an object to load
instead of both (another build being tried out, or an upgrade rehearsed with the pinned
sensor).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Generic, TypeVar

from stockade.sensor.base import SensorError
from stockade.sensor.bpf.build import build_object, c_sources, compile_object, sources_key

log = logging.getLogger(__name__)

OBJECT_NAME = "sensor.bpf.o"
STAMP_NAME = "sensor.bpf.o.sources"  # sources_key() of the C sources the object came from
OBJECT_ENV = "STOCKADE_BPF_OBJECT"
T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """What was loaded, from which object, and why the shipped one was not used (if not)."""

    value: T
    path: Path
    fallback_reason: str | None  # None: the shipped object loaded


def write_shipped(package_dir: Path) -> Path:
    """Compile the object into an installed package's `stockade/sensor/bpf` directory."""
    sources = c_sources()
    obj = package_dir / OBJECT_NAME
    compile_object(sources, obj)
    (package_dir / STAMP_NAME).write_text(sources_key(sources) + "\n")
    return obj


def in_source_checkout(package_dir: Path) -> bool:
    """Whether `package_dir` is `src/stockade/sensor/bpf` of a source checkout, not an install."""
    parents = package_dir.resolve().parents
    return len(parents) > 3 and parents[2].name == "src" and (parents[3] / "setup.py").is_file()


def _package_dir(package_dir: Path | None) -> Path:
    return package_dir or Path(str(resources.files("stockade.sensor.bpf")))


def shipped_object(package_dir: Path | None = None) -> tuple[Path | None, str | None]:
    """The shipped object if it matches the C sources here, else None and why not."""
    where = _package_dir(package_dir)
    obj, stamp = where / OBJECT_NAME, where / STAMP_NAME
    if not obj.is_file() or not stamp.is_file():
        return None, f"no CO-RE object shipped in {where}"
    if stamp.read_text().strip() != sources_key(c_sources()):
        return None, f"the shipped {obj} was built from other C sources"
    return obj, None


def load_object(
    load: Callable[[Path], T],
    *,
    cache_dir: Path | None = None,
    package_dir: Path | None = None,
) -> Loaded[T]:
    """`load` the shipped object; if that is impossible, build one on this host and load it."""
    if chosen := os.environ.get(OBJECT_ENV):
        log.info("eBPF: loading %s (from $%s)", chosen, OBJECT_ENV)
        return Loaded(load(Path(chosen)), Path(chosen), f"${OBJECT_ENV} names it")
    obj, reason = shipped_object(package_dir)
    level = logging.WARNING
    if obj is not None:
        try:
            return Loaded(load(obj), obj, None)
        except SensorError as e:
            reason = f"the shipped object did not load on this kernel: {e}"
    elif in_source_checkout(_package_dir(package_dir)):
        level = logging.DEBUG  # a checkout ships nothing: the host build is expected there
    log.log(level, "eBPF: %s; building the object on this host (clang, bpftool)", reason)
    try:
        built = build_object(cache_dir)
    except SensorError as e:
        raise SensorError(f"{reason}, and building on this host failed: {e}") from e
    return Loaded(load(built), built, reason)
