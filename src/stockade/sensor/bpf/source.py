"""`BpfSource`: the eBPF event source (id "ebpf") behind the `EventSource` interface."""

from __future__ import annotations

import operator
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from stockade.model import Event, EventType
from stockade.model.events import HIGH_VOLUME_EVENT_TYPES, LIFECYCLE_EVENT_TYPES
from stockade.sensor.base import SOURCES, EventSource, SensorError, SensorStats, SensorUnavailable
from stockade.sensor.bpf.build import BTF_PATH, missing_tool
from stockade.sensor.bpf.decoder import RecordDecoder, boot_to_epoch_offset
from stockade.sensor.bpf.iofilter import io_drop_entries
from stockade.sensor.bpf.kinds import GENERIC_PROGRAMS, generic_syscalls, programs_for
from stockade.sensor.bpf.libbpf import load_library
from stockade.sensor.bpf.loader import (
    SNAPLEN_DEFAULT,
    SNAPLEN_MAX,
    SOCK_IO_MAX_DEFAULT,
    LoadedSensor,
    tracefs_events,
)
from stockade.sensor.bpf.pin_adopt import Adoption, OverlapFilter
from stockade.sensor.bpf.pins import PinLayout
from stockade.sensor.bpf.shipped import load_object, shipped_object
from stockade.sensor.bpf.socklayer import (
    SOCKET_LAYER,
    common_drop,
    sock_kinds,
    socket_layer_types,
    supported,
)
from stockade.sensor.fdnames import name_polls
from stockade.sensor.serversocks import server_socket_inodes

DEFAULT_EVENT_TYPES: frozenset[EventType] = frozenset(EventType) - HIGH_VOLUME_EVENT_TYPES
"""Every event type but the high-volume ones; the agent narrows this to what its rules need."""
ALL_PROGRAMS = frozenset(p for t in EventType for p in programs_for(t)) | set(GENERIC_PROGRAMS)
_type_of = operator.attrgetter("type")
_TYPE_NAMES = frozenset(t.value for t in EventType)
_ACCEPTS = frozenset(
    {EventType.ACCEPT, EventType.ACCEPT4, EventType.BIND, EventType.LISTEN, EventType.CONNECT}
)
# Calls whose fd may be a socket another call made a server (accept, a bind to a port,
# listen) or a client again (connect): their fd.is_server (and fd.sip, fd.lip ...) need
# those calls seen, so their programs attach with them. Sockets older than the sensor
# are found in /proc at start (serversocks).
_POLLS = frozenset({EventType.POLL, EventType.PPOLL})
_SOCKET_CALLS = HIGH_VOLUME_EVENT_TYPES | {EventType.DUP, EventType.DUP2, EventType.DUP3}


class BpfSource(EventSource):
    """Kernel events from CO-RE programs through one ring buffer.

    Only the programs of `event_types` (plus the process lifecycle) are loaded and
    attached: one enter/exit pair per system call, as BPF trampolines where the kernel
    takes them, else syscall tracepoints (`trampoline.py`). I/O events carry up
    to `snaplen` bytes of data; on a socket, only its first `sock_io_max` I/O calls are
    reported (0: all), so a busy connection costs a map lookup per call, not an event.
    """

    id = "ebpf"
    generic_syscalls = True  # any other syscall named: Falco's generic event (ID, nativeID)

    def __init__(
        self,
        event_types: Iterable[EventType | str] = DEFAULT_EVENT_TYPES,
        *,
        cache_dir: Path | None = None,
        lifecycle: bool = True,
        reader: str = "mmap",
        snaplen: int = SNAPLEN_DEFAULT,
        sock_io_max: int = SOCK_IO_MAX_DEFAULT,
    ) -> None:
        self.event_types, self.generic = _split_types(event_types)
        if not 0 <= snaplen <= SNAPLEN_MAX:
            raise ValueError(f"snaplen must be between 0 and {SNAPLEN_MAX} bytes, not {snaplen}")
        self.snaplen = snaplen  # bytes of I/O data kept per event (evt.buffer)
        if sock_io_max < 0:
            raise ValueError(f"sock_io_max must be 0 (no limit) or more, not {sock_io_max}")
        self.sock_io_max = sock_io_max  # I/O events reported per socket, its first ones
        if lifecycle:
            self.event_types |= LIFECYCLE_EVENT_TYPES  # the process tree needs them
        # The kernel marks accepted sockets (server role) at accept: attached with the
        # calls that may use such a socket, their events dropped unless asked for.
        self._unasked: frozenset[str] = frozenset()
        if self.event_types & _SOCKET_CALLS:
            self._unasked = frozenset(t.value for t in _ACCEPTS - self.event_types)
            self.event_types |= _ACCEPTS
        self._cache_dir = cache_dir
        self._sensor: LoadedSensor | None = None
        if reader not in ("mmap", "libbpf"):
            raise ValueError(f"reader must be 'mmap' or 'libbpf', not {reader!r}")
        self._reader = reader  # mmap: read the ring directly; libbpf: ring_buffer__poll
        self._epoch_offset = boot_to_epoch_offset()
        self._decoder = RecordDecoder(self._epoch_offset)
        self._stats = SensorStats()
        self._io_drop: dict[int, int] = {}  # kind id -> descriptor classes dropped in the kernel
        self._pins: PinLayout | None = None  # keep_pinned(): survive this process
        self._ring_bytes: int | None = None
        self._hold_commits = False
        self._adoption: Adoption | None = None
        self._overlap = OverlapFilter()

    _probe_result: ClassVar[tuple[str | None] | None] = None
    object_fallback: ClassVar[str | None] = None
    """Why the last load in this process built the object on the host (None: shipped one)."""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why eBPF cannot run here (not root, no BTF/libbpf/clang, build or load failure).

        The first call in a process builds the object and loads it without attaching
        (about a second), so a verifier rejection is reported here too.
        """
        if reason := cls._static_reason():
            return reason
        if cls._probe_result is None:
            cls._probe_result = (cls._probe_load(),)
        return cls._probe_result[0]

    @classmethod
    def _probe_load(cls) -> str | None:
        try:
            loaded = load_object(lambda obj: LoadedSensor(obj, ALL_PROGRAMS, attach=False))
        except SensorError as e:
            return f"eBPF load failed: {e}"
        loaded.value.close()
        cls.object_fallback = loaded.fallback_reason
        return None

    @staticmethod
    def _static_reason() -> str | None:
        if os.geteuid() != 0:
            return "eBPF needs root (CAP_BPF and CAP_PERFMON)"
        if not BTF_PATH.is_file():
            return f"no kernel BTF at {BTF_PATH} (kernel built without CONFIG_DEBUG_INFO_BTF)"
        try:
            load_library()
        except SensorError as e:
            return str(e)
        if shipped_object()[0] is None and (tool := missing_tool()):
            return f"{tool} is not installed (needed to build the BPF object: none shipped)"
        return None

    @property
    def compiled_decoder(self) -> bool:
        """Whether the compiled readers decode (else the pure-Python ones, slower)."""
        return self._decoder.compiled

    @property
    def attached(self) -> list[str]:
        """Names of the BPF programs attached (empty before start)."""
        return list(self._sensor.attached) if self._sensor else []

    @property
    def trampolines(self) -> list[str]:
        """The attached programs whose pair runs as BPF trampolines (fentry/fexit)."""
        return list(self._sensor.trampolines) if self._sensor else []

    def programs(self) -> set[str]:
        """The BPF programs needed for this source's event types."""
        generic = set(GENERIC_PROGRAMS) if self.generic else set()
        routed = self._socket_layer()
        own = {p for t in self.event_types - routed for p in programs_for(t)}
        return own | {SOCKET_LAYER[t] for t in routed} | generic

    def _socket_layer(self) -> frozenset[EventType]:
        """The I/O types reported from the socket layer (socklayer: sockets only wanted)."""
        if not self._io_drop or not supported(tracefs_events()):
            return frozenset()
        return socket_layer_types(self.event_types, self._io_drop)

    def set_fd_kinds(self, fd_kinds: Mapping[str, frozenset[str]]) -> None:
        """Drop I/O calls on other descriptors in the kernel, before any record is built."""
        self._io_drop = io_drop_entries(fd_kinds)

    def keep_pinned(self, layout: PinLayout, ring_bytes: int | None = None) -> None:
        """Before start: pin maps and links in bpffs (adopting pinned ones) so the kernel
        keeps recording after this process ends; `ring_bytes` sizes a new ring."""
        self._pins, self._ring_bytes = layout, ring_bytes

    def hold_commits(self) -> None:
        """Before start: free ring space only on `commit` (see `ringbuf.RingReader`)."""
        self._hold_commits = True

    @property
    def adoption(self) -> Adoption | None:
        """What start took over from pinned state (None: nothing was pinned or pinning off)."""
        return self._adoption

    def position(self) -> int:
        """The ring position after the last poll (0 with the libbpf reader)."""
        reader = self._sensor.reader if self._sensor else None
        return reader.position if reader else 0

    def committed(self) -> int:
        """The ring position committed so far (0 with the libbpf reader)."""
        reader = self._sensor.reader if self._sensor else None
        return reader.committed if reader else 0

    def produced(self) -> int:
        """The ring position the kernel writes at next (0 with the libbpf reader)."""
        reader = self._sensor.reader if self._sensor else None
        return reader.produced if reader else 0

    def commit(self, position: int) -> None:
        """Free the ring up to `position` (a value of `position()`), once it is durable."""
        reader = self._sensor.reader if self._sensor else None
        if reader is not None:
            reader.commit(position)

    def set_epoch_offset(self, offset_ns: int) -> None:
        """Stamp events with this boot-to-epoch offset (the one an earlier process used)."""
        self._epoch_offset = offset_ns
        self._decoder = RecordDecoder(offset_ns)

    @property
    def epoch_offset(self) -> int:
        """The boot-to-epoch offset added to the kernel's timestamps."""
        return self._epoch_offset

    def start(self) -> None:
        """Load the shipped object (else build one here), attach the programs needed."""
        if self._sensor is not None:
            raise SensorError("BpfSource.start called twice; stop it first")
        if reason := self._static_reason():
            raise SensorUnavailable(reason)
        numbers = generic_syscalls()
        routed = self._socket_layer()
        try:
            loaded = load_object(
                lambda obj: LoadedSensor(
                    obj,
                    self.programs(),
                    reader=self._reader,
                    snaplen=self.snaplen,
                    generic_nrs=[numbers[name] for name in self.generic],
                    sock_io_max=self.sock_io_max,
                    io_drop=self._io_drop | common_drop(routed, self._io_drop),
                    sock_kinds=sock_kinds(routed),
                    pins=self._pins,
                    ring_bytes=self._ring_bytes,
                ),
                cache_dir=self._cache_dir,
            )
            self._sensor = loaded.value
            if self.event_types & _SOCKET_CALLS:
                self._sensor.add_server_inodes(server_socket_inodes())
            self._adoption = self._sensor.adoption
            if self._hold_commits and self._sensor.reader is not None:
                self._sensor.reader.hold_commits()
            type(self).object_fallback = loaded.fallback_reason
        except SensorError as e:
            raise SensorUnavailable(f"eBPF load failed: {e}") from e

    def poll_raw(self, timeout_s: float) -> list[bytes]:
        """Wait up to `timeout_s` and return the raw records seen (for capture/benchmarks)."""
        if self._sensor is None:
            raise SensorError("BpfSource.poll before start")
        return self._sensor.poll(max(0, int(timeout_s * 1000)))

    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` and return the decoded events."""
        events = self.decode(self.poll_raw(timeout_s))
        overlap = self._adoption.overlap if self._adoption else None
        if overlap is not None:  # an upgrade: old and new programs both ran for a moment
            window = (overlap[0] + self._epoch_offset, overlap[1] + self._epoch_offset)
            events = self._overlap.drop_repeats(events, window)
        return events

    def decode(self, records: list[bytes]) -> list[Event]:
        """Decode raw records as `poll` does, counting them in the stats."""
        events, errors = self._decoder.decode_all(records)
        if self._unasked:
            events = [e for e in events if e.type not in self._unasked]
        if self.event_types & _POLLS:  # fdlist.*: the descriptors, read while it runs
            name_polls(events)
        self._stats.decode_errors += errors
        by_type = self._stats.events_by_type
        for type_name, n in Counter(map(_type_of, events)).items():
            by_type[type_name] = by_type.get(type_name, 0) + n
        return events

    def stop(self) -> None:
        """Destroy links, free the ring buffer and close the object (pinned ones stay)."""
        if self._sensor is not None:
            self._stats.dropped = sum(self._sensor.drops())
            self._sensor.close()
            self._sensor = None

    def drop_reasons(self) -> dict[str, int]:
        """Kernel-side losses by cause: the ring was full, or another reserve failure."""
        full, other = self._sensor.drops() if self._sensor is not None else (0, 0)
        return {"ring_full": full, "other": other}

    def stats(self) -> SensorStats:
        """Counters since start (drops read from the kernel's per-CPU counter)."""
        if self._sensor is not None:
            self._stats.dropped = sum(self._sensor.drops())
        return self._stats


def _split_types(
    event_types: Iterable[EventType | str],
) -> tuple[frozenset[EventType], frozenset[str]]:
    """Event types with programs of their own, and other syscalls (reported generically)."""
    known: set[EventType] = set()
    generic: set[str] = set()
    others = generic_syscalls()
    for t in event_types:
        if t in _TYPE_NAMES:
            known.add(EventType(t))
        elif t in others:
            generic.add(t)
        else:
            raise ValueError(f"{t!r} is neither an event type nor a syscall of this machine")
    return frozenset(known), frozenset(generic)


SOURCES.register(BpfSource.id, BpfSource)
