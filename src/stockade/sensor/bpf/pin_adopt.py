"""Taking over the pinned sensor: reuse its maps, keep its links, swap what changed.

`PinAdopter` works beside one `bpf_object` being loaded: before the load it points each
map of the object at the pinned map of the same name and shape (`bpf_map__reuse_fd`);
it plans which links to keep (`pins.plan_links`); after the new links are attached and
pinned, `finish` removes the pins of the links no longer wanted, then pins the maps that
are new. A map whose shape changed (another ring size, an upgrade that changed a value)
cannot be shared: then every pinned link is replaced, as in an upgrade, since the old
programs write to the old maps.

Replacing attaches before it detaches, so for a moment both programs of a tracepoint run.
A syscall's exit is reported by whichever exit program takes the shared stash first;
records of the others (exec, exit, fork, signal) may come twice: `overlap` gives the
window (boot-time ns) in which `OverlapFilter` drops an event equal to one before it but
for its timestamp.
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from dataclasses import dataclass

import msgspec

from stockade.model import Event
from stockade.sensor.bpf.libbpf import LibbpfError, check_rc
from stockade.sensor.bpf.pins import (
    LinkPlan,
    PinLayout,
    ensure_bpffs,
    map_shape,
    plan_links,
    wanted_shape,
)

log = logging.getLogger(__name__)
DETACH_SLACK_NS = 1_000_000_000


@dataclass(frozen=True)
class Adoption:
    """What a starting sensor took over from the pins, and what it changed."""

    adopted: tuple[str, ...]  # programs whose pinned links were kept
    loaded: tuple[str, ...]  # programs loaded and attached by this process
    detached: tuple[str, ...]  # pinned programs removed (no longer wanted, or replaced)
    replaced_objects: tuple[str, ...]  # keys of the objects whose links were replaced
    reused_maps: tuple[str, ...]  # pinned maps shared (the ring among them: no record lost)
    reshaped_maps: tuple[str, ...]  # pinned maps of another shape, replaced by new ones
    overlap: tuple[int, int] | None  # boot-time ns when old and new programs both ran


class PinAdopter:
    """Adopts the pinned maps and links for one object being loaded."""

    def __init__(self, lib: ctypes.CDLL, obj: int, layout: PinLayout, key: str) -> None:
        ensure_bpffs(layout.root)
        self._lib, self._obj, self._layout, self._key = lib, obj, layout, key
        self._to_pin: list[tuple[str, int]] = []
        self._reused: list[str] = []
        self._reshaped: list[str] = []
        self._reuse_maps()
        self._plan = LinkPlan(frozenset(), frozenset(), (), ())
        self._first_attach: int | None = None

    def _reuse_maps(self) -> None:
        lib = self._lib
        map_ptr = lib.bpf_object__next_map(self._obj, None)
        while map_ptr:
            name = lib.bpf_map__name(map_ptr).decode()
            if "." not in name:  # .rodata, .bss ...: each object keeps its own
                self._reuse_map(name, map_ptr)
            map_ptr = lib.bpf_object__next_map(self._obj, map_ptr)

    def _reuse_map(self, name: str, map_ptr: int) -> None:
        path = self._layout.map_path(name)
        fd = self._lib.bpf_obj_get(str(path).encode()) if path.exists() else -1
        if fd < 0:
            self._to_pin.append((name, map_ptr))
            return
        try:
            if map_shape(self._lib, fd) == wanted_shape(self._lib, map_ptr):
                check_rc(self._lib.bpf_map__reuse_fd(map_ptr, fd), f"reusing pinned map {name}")
                self._reused.append(name)
            else:
                self._reshaped.append(name)
                self._to_pin.append((name, map_ptr))
        finally:
            os.close(fd)

    def plan(self, enabled: set[str]) -> LinkPlan:
        """Which links to keep, which programs to load, which pins to drop afterwards."""
        pinned = self._layout.pinned_links()
        if self._reshaped:  # old programs write to maps this process cannot share
            pinned = {f"{k}~": links for k, links in pinned.items()}
        self._plan = plan_links(pinned, self._key, enabled)
        return self._plan

    def begin_attach(self) -> None:
        """Just before the first new link is attached: where an overlap may begin."""
        self._first_attach = time.clock_gettime_ns(time.CLOCK_BOOTTIME)

    def pin_link(self, program: str, link: int) -> None:
        """Pin a link just attached (replacing a stale pin of the same name)."""
        path = self._layout.link_path(self._key, program)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        check_rc(self._lib.bpf_link__pin(link, str(path).encode()), f"pinning link {program}")

    def finish(self) -> Adoption:
        """Drop the pins planned away (the new links run already), pin new maps, log it."""
        for path in self._plan.detach:
            path.unlink(missing_ok=True)  # the last reference: the program detaches
            if path.parent.is_dir() and not any(path.parent.iterdir()):
                path.parent.rmdir()
        overlap = None
        if self._plan.replaced_objects and self._first_attach is not None:
            # The kernel releases an unpinned link from a work queue: give it time.
            end = time.clock_gettime_ns(time.CLOCK_BOOTTIME) + DETACH_SLACK_NS
            overlap = (self._first_attach, end)
        for name, map_ptr in self._to_pin:
            path = self._layout.map_path(name)
            path.unlink(missing_ok=True)
            rc = self._lib.bpf_obj_pin(self._lib.bpf_map__fd(map_ptr), str(path).encode())
            if rc < 0:
                raise LibbpfError(f"pinning map {name} at {path} failed: {os.strerror(-rc)}")
        adoption = Adoption(
            adopted=tuple(sorted(self._plan.adopt)),
            loaded=tuple(sorted(self._plan.load)),
            detached=tuple(sorted(p.name for p in self._plan.detach)),
            replaced_objects=tuple(k.rstrip("~") for k in self._plan.replaced_objects),
            reused_maps=tuple(self._reused),
            reshaped_maps=tuple(self._reshaped),
            overlap=overlap,
        )
        _log_adoption(adoption, self._key)
        return adoption


def _log_adoption(a: Adoption, key: str) -> None:
    if a.reshaped_maps:
        log.warning(
            "eBPF: pinned maps %s have another shape; new ones replace them (records"
            " waiting in a replaced ring are lost)",
            ", ".join(a.reshaped_maps),
        )
    if a.replaced_objects:
        log.info(
            "eBPF: upgrade: object %s replaced %s: %d programs attached before the %d old"
            " ones were detached",
            key,
            ", ".join(a.replaced_objects),
            len(a.loaded),
            len(a.detached),
        )
    elif a.adopted:
        log.info(
            "eBPF: adopted %d pinned programs and the ring buffer; attached %d and detached %d"
            " for the current rules",
            len(a.adopted),
            len(a.loaded),
            len(a.detached),
        )


class OverlapFilter:
    """Drops an event equal to an earlier one but for its timestamp, inside a time window.

    While an upgrade swaps programs, both the old and the new program of a tracepoint run
    for a moment, and a process event may be written twice, a few µs apart.
    """

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._encode = msgspec.msgpack.Encoder().encode

    def drop_repeats(self, events: list[Event], window: tuple[int, int]) -> list[Event]:
        """`events` without the repeats of those stamped inside `window` (event ts, ns)."""
        low, high = window
        kept: list[Event] = []
        for event in events:
            if low <= event.ts <= high:
                key = self._encode(msgspec.structs.replace(event, ts=0))
                if key in self._seen:
                    continue
                self._seen.add(key)
            kept.append(event)
        return kept
