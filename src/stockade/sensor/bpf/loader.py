"""Load the sensor's BPF object, attach the programs asked for, and drain its ring buffer."""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stockade.sensor.bpf.coverage import has_tracepoint
from stockade.sensor.bpf.libbpf import (
    LibbpfError,
    LibbpfLog,
    check_ptr,
    check_rc,
    load_library,
    make_sample_callback,
)
from stockade.sensor.bpf.pin_adopt import Adoption, PinAdopter
from stockade.sensor.bpf.pins import PinLayout, object_key
from stockade.sensor.bpf.ringbuf import RingReader
from stockade.sensor.bpf.trampoline import (
    TRAMPOLINES,
    attach_mode,
    choose_programs,
    trampoline_refusal,
)

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
WAKEUP_BYTES = 256 * 1024  # wake the reader once this much data waits in the ring
POLL_MAX = 1024  # records returned per poll: bounds the memory of the batch behind it
SNAPLEN_DEFAULT = 80  # bytes of I/O data kept per event, as Falco's default
SNAPLEN_MAX = 1024  # c/record.h SNAP_MAX
SOCK_IO_MAX_DEFAULT = 16  # I/O events reported per socket: the start of each conversation
GENERIC_NRS_MAX = 512  # c/common.bpf.h generic_nrs entries (sensor.bpf.c sock_kinds too)
IO_DROP_KINDS = 256  # c/io.bpf.h io_drop entries


def tracefs_events() -> Path | None:
    """The tracefs `events` directory, mounting tracefs when it is not mounted yet."""
    for d in TRACEFS_DIRS:
        if (d / "events").is_dir():
            return d / "events"
    try:
        subprocess.run(
            ["mount", "-t", "tracefs", "nodev", str(TRACEFS_DIRS[0])],
            check=True,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    events = TRACEFS_DIRS[0] / "events"
    return events if events.is_dir() else None


class LoadedSensor:
    """One loaded and attached copy of sensor.bpf.o; `close()` releases everything.

    With `pins`, maps and links are pinned in bpffs and adopted from an earlier process
    (see `pins.py`): the programs keep recording into the pinned ring while no agent runs.
    """

    def __init__(
        self,
        obj_path: Path,
        programs: Iterable[str],
        *,
        attach: bool = True,
        reader: str = "mmap",
        snaplen: int = SNAPLEN_DEFAULT,
        generic_nrs: Iterable[int] = (),
        sock_io_max: int = SOCK_IO_MAX_DEFAULT,
        io_drop: Mapping[int, int] | None = None,
        sock_kinds: Mapping[int, int] | None = None,
        pins: PinLayout | None = None,
        ring_bytes: int | None = None,
    ) -> None:
        if not 0 <= snaplen <= SNAPLEN_MAX:
            raise LibbpfError(f"snaplen must be between 0 and {SNAPLEN_MAX}, not {snaplen}")
        self._snaplen = snaplen
        self._generic_nrs = tuple(generic_nrs)  # syscalls the generic programs report
        self._sock_io_max = sock_io_max
        self._io_drop = dict(io_drop or {})  # kind id -> descriptor classes dropped (iofilter)
        self._sock_kinds = dict(sock_kinds or {})  # syscall nr -> kind from the socket layer
        self._pins = pins if attach else None
        self._ring_bytes = ring_bytes
        self._lib = load_library()
        self._log = LibbpfLog(self._lib)
        self._obj: int | None = None
        self._rb: int | None = None
        self._links: list[int] = []
        self.attached: list[str] = []
        self.skipped: list[str] = []  # wanted but without a tracepoint on this kernel
        self.mode = attach_mode()  # auto: trampolines where the kernel has them
        self.trampolines: list[str] = []  # attached programs whose pair is fentry/fexit
        self._tried_trampolines = False
        self.adoption: Adoption | None = None  # what was taken over from pinned state
        self._pending: list[bytes] = []
        self._callback = make_sample_callback(self._pending.append)
        self._reader: RingReader | None = None
        self._use_mmap = reader == "mmap"
        try:
            self._load_either(obj_path, set(programs), attach)
        except BaseException:
            self.close()
            raise

    def _load_either(self, obj_path: Path, wanted: set[str], attach: bool) -> None:
        """Load with trampolines where chosen; if the kernel refuses them, with tracepoints."""
        if self.mode == "auto" and TRAMPOLINES.refused is not None:
            self.mode = "tracepoint"  # refused earlier in this process: not tried again
        try:
            self._load(obj_path, wanted, attach)
        except LibbpfError as e:
            if not self._tried_trampolines:
                raise
            TRAMPOLINES.refuse(str(e), unexpected=True)
            self.close()
            self.mode = "tracepoint"
            self._load(obj_path, wanted, attach)

    def _load(self, obj_path: Path, wanted: set[str], attach: bool) -> None:
        lib, log = self._lib, self._log
        self._obj = check_ptr(lib.bpf_object__open_file(str(obj_path).encode(), None), "open", log)
        if self._ring_bytes is not None:
            ring = check_ptr(lib.bpf_object__find_map_by_name(self._obj, b"events"), "map")
            check_rc(lib.bpf_map__set_max_entries(ring, self._ring_bytes), "ring size", log)
        if self.mode == "auto" and (refusal := trampoline_refusal()):
            TRAMPOLINES.refuse(refusal)
            self.mode = "tracepoint"
        chosen = choose_programs(wanted, self.mode)  # wanted name -> program in the object
        self._tried_trampolines = any(p != n for n, p in chosen.items())
        enabled, programs = self._enabled_programs(chosen)
        adopter = None
        load = set(enabled)
        if self._pins is not None:
            # the mode in the key: links of the other attach path are replaced, not adopted
            key = object_key(obj_path) + ("-fentry" if self._tried_trampolines else "")
            adopter = PinAdopter(lib, self._obj, self._pins, key)
            load = set(adopter.plan(enabled).load)
        autoload = {chosen[name] for name in load}
        for name, prog in programs.items():
            lib.bpf_program__set_autoload(prog, name in autoload)
        check_rc(lib.bpf_object__load(self._obj), "load (verifier)", log)
        self._configure()
        if not attach:  # a probe: the verifier accepted every program, nothing runs
            return
        if adopter is not None:
            adopter.begin_attach()
        for name in sorted(load):
            link = check_ptr(
                lib.bpf_program__attach(programs[chosen[name]]), f"attach {chosen[name]}", log
            )
            self._links.append(link)
            if adopter is not None:
                adopter.pin_link(name, link)
        if adopter is not None:
            self.adoption = adopter.finish()
        self.attached = sorted(enabled)
        self.trampolines = sorted(n for n in enabled if chosen[n].startswith("f"))
        self._open_reader()

    def _enabled_programs(self, chosen: dict[str, str]) -> tuple[set[str], dict[str, int]]:
        """The wanted programs this kernel can attach (by wanted name), and every program.

        A syscall tracepoint program needs its tracepoint in tracefs; the others (BTF
        tracepoints, trampolines chosen because their function exists) need nothing more.
        """
        events = None
        if any(p.startswith(("enter_", "exit_")) for p in chosen.values()):
            events = tracefs_events()
            if events is None:
                raise LibbpfError(
                    "tracefs is not mounted at /sys/kernel/tracing and mounting it failed"
                )
        programs: dict[str, int] = {}
        prog = self._lib.bpf_object__next_program(self._obj, None)
        while prog:
            programs[self._lib.bpf_program__name(prog).decode()] = prog
            prog = self._lib.bpf_object__next_program(self._obj, prog)
        enabled: set[str] = set()
        for name, program in chosen.items():
            if program not in programs:
                continue
            if has_tracepoint(events, program):
                enabled.add(name)
            else:
                self.skipped.append(name)
        return enabled, programs

    def _open_reader(self) -> None:
        lib, log = self._lib, self._log
        rb_fd = self._map_fd("events")
        if self._use_mmap:
            rb_map = check_ptr(lib.bpf_object__find_map_by_name(self._obj, b"events"), "map")
            self._reader = RingReader(rb_fd, lib.bpf_map__max_entries(rb_map), WAKEUP_BYTES)
            return
        self._rb = check_ptr(
            lib.ring_buffer__new(rb_fd, self._callback, None, None), "ring_buffer__new", log
        )

    def _map_fd(self, name: str) -> int:
        return check_rc(
            self._lib.bpf_object__find_map_fd_by_name(self._obj, name.encode()), f"map {name}"
        )

    def _configure(self) -> None:
        key = ctypes.c_uint32(0)
        value = (ctypes.c_uint32 * 4)(os.getpid(), WAKEUP_BYTES, self._snaplen, self._sock_io_max)
        rc = self._lib.bpf_map_update_elem(
            self._map_fd("cfg"), ctypes.byref(key), ctypes.byref(value), 0
        )
        if rc < 0:
            raise LibbpfError(f"setting the sensor config map failed: {os.strerror(-rc)}")
        if self._pins is not None:  # the pinned tables hold the earlier rules' choices
            self._reset_u8("generic_nrs", GENERIC_NRS_MAX)
            self._reset_u8("io_drop", IO_DROP_KINDS)
            self._reset_u8("sock_kinds", GENERIC_NRS_MAX)
        for nr in self._generic_nrs:
            self._set_u8("generic_nrs", nr, 1, f"selecting generic syscall {nr}")
        for kind, classes in self._io_drop.items():
            self._set_u8("io_drop", kind, classes, f"the I/O filter of kind {kind}")
        for nr, kind in self._sock_kinds.items():
            self._set_u8("sock_kinds", nr, kind, f"the socket-layer kind of syscall {nr}")

    def add_server_inodes(self, inodes: Iterable[int]) -> None:
        """Give the kernel the sockets that were servers before it started (by inode)."""
        fd, one = self._map_fd("server_inos"), ctypes.c_uint8(1)
        for ino in inodes:
            key = ctypes.c_uint64(ino)
            rc = self._lib.bpf_map_update_elem(fd, ctypes.byref(key), ctypes.byref(one), 0)
            if rc < 0:  # full: the rest keep the client role, as unknown sockets do
                break

    def _reset_u8(self, map_name: str, entries: int) -> None:
        for index in range(entries):
            self._set_u8(map_name, index, 0, f"clearing {map_name}")

    def _set_u8(self, map_name: str, index: int, value: int, what: str) -> None:
        key, val = ctypes.c_uint32(index), ctypes.c_uint8(value)
        rc = self._lib.bpf_map_update_elem(
            self._map_fd(map_name), ctypes.byref(key), ctypes.byref(val), 0
        )
        if rc < 0:
            raise LibbpfError(f"setting {what} failed: {os.strerror(-rc)}")

    def poll(self, timeout_ms: int) -> list[bytes]:
        """Wait for a wakeup (or the timeout), then return the records waiting.

        The mmap reader returns at most POLL_MAX; the rest keep the ring readable, so the
        next poll returns at once.
        """
        if self._reader is not None:
            self._reader.wait(timeout_ms / 1000)
            records: list[bytes] = []
            self._reader.read(records, POLL_MAX)
            return records
        assert self._rb is not None
        rc = self._lib.ring_buffer__poll(self._rb, timeout_ms)
        if rc < 0 and -rc != 4:  # EINTR is harmless
            check_rc(rc, "ring_buffer__poll")
        # Records submitted without a wakeup are only seen by an explicit consume.
        check_rc(self._lib.ring_buffer__consume(self._rb), "ring_buffer__consume")
        records, self._pending[:] = self._pending[:], []
        return records

    @property
    def reader(self) -> RingReader | None:
        """The mmap reader (None with the libbpf reader, which commits as it reads)."""
        return self._reader

    def drops(self) -> tuple[int, int]:
        """Records lost in the kernel, summed over CPUs: (ring full, other failures)."""
        ncpu = max(self._lib.libbpf_num_possible_cpus(), 1)
        found = []
        for index in (0, 1):
            values = (ctypes.c_uint64 * ncpu)()
            key = ctypes.c_uint32(index)
            rc = self._lib.bpf_map_lookup_elem(self._map_fd("drops"), ctypes.byref(key), values)
            found.append(sum(values) if rc == 0 else 0)
        return found[0], found[1]

    def _release_pinned_links(self) -> None:
        """Let go of pinned links without detaching them: their pins keep them attached."""
        for link in self._links:
            fd = self._lib.bpf_link__fd(link)
            self._lib.bpf_link__disconnect(link)
            self._lib.bpf_link__destroy(link)
            if fd >= 0:
                os.close(fd)
        self._links.clear()

    def close(self) -> None:
        """Free the ring buffer, release or destroy every link, close the object (idempotent).

        Pinned links stay attached (and their maps alive) until their pins are removed.
        """
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._rb:
            self._lib.ring_buffer__free(self._rb)
            self._rb = None
        if self._links and self._pins is not None:
            self._release_pinned_links()
        if self._links:
            # Each detach waits for an RCU grace period; in parallel they overlap
            # (ctypes drops the GIL during the call).
            with ThreadPoolExecutor(max_workers=min(64, len(self._links))) as pool:
                list(pool.map(self._lib.bpf_link__destroy, self._links))
            self._links.clear()
        if self._obj:
            self._lib.bpf_object__close(self._obj)
            self._obj = None
