# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The decoder's readers of the most frequent record kinds, compiled (Cython).

`CompiledReaders.decode_all` gives exactly what `RecordDecoder.decode_all` gives with the
readers of `decoder_kinds` (a test holds both to the same events): header fields are read
in place from the record instead of unpacked into a tuple, and the loop runs in C. Kinds
it has no reader for, and records of a kind that do not parse, go to the Python readers.
The pure-Python decoder stays the reference and the fallback where this module is not built.
"""

from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

from stockade.model import Event, FdInfo
from stockade.sensor.bpf.argspec import TEXTS, WALKED, text, walked
from stockade.sensor.bpf.decoder_kinds import MALFORMED, DecodeError
from stockade.sensor.bpf.decoder_net import tuple_fd_at
from stockade.sensor.bpf.sockaddr import parse_sockaddr

# c/record.h: who acted (88 bytes), then what happened; slots follow the 168-byte header.
cdef enum:
    IDENT = 88
    HDR = 168
    AT_TS = IDENT
    AT_RES = IDENT + 8
    AT_A0 = IDENT + 16
    AT_A1 = IDENT + 24
    AT_A2 = IDENT + 32
    AT_A3 = IDENT + 40
    AT_KIND = IDENT + 64
    AT_FLAGS = IDENT + 68
    AT_SLEN = IDENT + 70
    F_TUPLE = 4  # REC_F_TUPLE: slot 1 holds a struct sock_tuple

cdef inline uint64_t _u64(const char* p, Py_ssize_t at) noexcept:
    return (<const uint64_t*>(p + at))[0]

cdef inline int64_t _s64(const char* p, Py_ssize_t at) noexcept:
    return (<const int64_t*>(p + at))[0]

cdef inline int32_t _s32(const char* p, Py_ssize_t at) noexcept:
    return (<const int32_t*>(p + at))[0]

cdef inline uint32_t _u32(const char* p, Py_ssize_t at) noexcept:
    return (<const uint32_t*>(p + at))[0]

cdef inline uint16_t _u16(const char* p, Py_ssize_t at) noexcept:
    return (<const uint16_t*>(p + at))[0]


cdef class CompiledReaders:
    """Readers of openat, socket, connect, accept(4), clone/fork/vfork and procexit."""

    cdef object _actor
    cdef dict _procs
    cdef list _fallback
    cdef object _host
    cdef int64_t _offset
    cdef bytes _last_key
    cdef object _last_proc
    cdef dict _clones
    cdef dict _accepts
    cdef uint32_t _k_openat, _k_socket, _k_connect, _k_procexit

    def __init__(self, actor, dict procs, fallback, host, int64_t offset, dict kinds,
                 dict clones, dict accepts):
        self._actor = actor  # rec -> the shared Process of its identity (made on a miss)
        self._procs = procs  # the identities `actor` keeps: looked up here first
        self._fallback = fallback  # the Python readers, by the kind's low byte
        self._host = host
        self._offset = offset
        self._last_key = b""
        self._last_proc = None
        self._k_openat = kinds["openat"]
        self._k_socket = kinds["socket"]
        self._k_connect = kinds["connect"]
        self._k_procexit = kinds["procexit"]
        self._clones = clones  # kind id -> type name
        self._accepts = accepts

    cdef object _proc(self, bytes rec, const char* p):
        if self._last_proc is not None and memcmp(p, PyBytes_AS_STRING(self._last_key), IDENT) == 0:
            return self._last_proc
        key = rec[:IDENT]
        proc = self._procs.get(key)
        if proc is None:
            proc = self._actor(rec)
        self._last_key = key
        self._last_proc = proc
        return proc

    def decode_all(self, records):
        """Decode records in order: the events, and how many were malformed (skipped)."""
        cdef list events = []
        cdef long errors = 0
        cdef bytes rec
        for item in records:
            rec = item  # a TypeError for anything but bytes, as in the Python readers
            try:
                events.append(self._read(rec))
            except MALFORMED:
                errors += 1
        return events, errors

    cdef object _read(self, bytes rec):
        cdef Py_ssize_t n, o1, o2
        cdef const char* p
        cdef uint32_t kind
        cdef uint16_t flags, l0, l1, l2, l3
        cdef int64_t res, ts
        cdef int32_t num
        cdef uint64_t code
        n = PyBytes_GET_SIZE(rec)
        if n < HDR:
            raise DecodeError(f"record of {n} bytes is shorter than the header")
        p = PyBytes_AS_STRING(rec)
        kind = _u32(p, AT_KIND)
        l0 = _u16(p, AT_SLEN)
        l1 = _u16(p, AT_SLEN + 2)
        l2 = _u16(p, AT_SLEN + 4)
        l3 = _u16(p, AT_SLEN + 6)
        if HDR + <Py_ssize_t>l0 + l1 + l2 + l3 > n or not self._known(kind):
            # the Python readers say what is wrong, or read a kind this one does not
            return self._fallback[<unsigned char>p[AT_KIND]](rec)
        ts = _s64(p, AT_TS) + self._offset
        res = _s64(p, AT_RES)
        proc = self._proc(rec, p)
        host = self._host
        if kind == self._k_openat:
            if l2 > 0:  # the kernel's walk of the new fd
                o2 = HDR + l0 + l1
                name = WALKED.get(rec[o2 : o2 + l2 - 1])
                if name is None:
                    name = walked(rec, o2, l2)
            elif l0 > 1:  # else the path as given
                name = TEXTS.get(rec[HDR : HDR + l0 - 1])
                if name is None:
                    name = text(rec, HDR, l0)
            else:
                name = ""
            open_flags = _u64(p, AT_A2)
            return Event(
                type="openat", ts=ts, proc=proc, container=host,
                fd=FdInfo(num=res, type="file", name=name, flags=open_flags), res=res,
                args={"fd": res, "dirfd": _s32(p, AT_A0), "name": name,
                      "flags": open_flags, "mode": _u64(p, AT_A3)},
                source="ebpf",
            )
        elif kind == self._k_socket:
            return Event(
                type="socket", ts=ts, proc=proc, container=host, res=res,
                args={"fd": res, "domain": _u64(p, AT_A0), "type": _u64(p, AT_A1),
                      "proto": _u64(p, AT_A2)},
                source="ebpf",
            )
        elif kind == self._k_connect:
            flags = _u16(p, AT_FLAGS)
            num = _s32(p, AT_A0)
            o1 = HDR + l0
            fd = None
            if flags & F_TUPLE:
                fd = tuple_fd_at(rec, o1, l1, num, False)
            elif l0:
                family, addr, port = parse_sockaddr(rec[HDR:o1])
                fd = FdInfo(num=num, type=family, name=addr, dip=addr, dport=port)
            return Event(
                type="connect", ts=ts, proc=proc, container=host, fd=fd, res=res,
                args={"res": res, "tuple": fd.name if fd is not None else "", "fd": num},
                source="ebpf",
            )
        elif kind == self._k_procexit:
            code = _u64(p, AT_A0) or _u64(p, AT_A1)
            return Event(
                type="procexit", ts=ts, proc=proc, container=host, res=res,
                args={"status": code, "ret": (code >> 8) & 0xFF, "sig": code & 0x7F,
                      "core": code >> 7 & 1},
                source="ebpf",
            )
        elif kind in self._accepts:
            flags = _u16(p, AT_FLAGS)
            fd = tuple_fd_at(rec, HDR + l0, l1, res, True) if flags & F_TUPLE else None
            return Event(
                type=self._accepts[kind], ts=ts, proc=proc, container=host, fd=fd,
                res=res, args={"fd": res, "tuple": fd.name if fd is not None else ""},
                source="ebpf",
            )
        else:  # a clone, fork or vfork
            return Event(
                type=self._clones[kind], ts=ts, proc=proc, container=host, res=res,
                args={"res": res}, source="ebpf",
            )

    cdef inline bint _known(self, uint32_t kind):
        return (
            kind == self._k_openat or kind == self._k_socket or kind == self._k_connect
            or kind == self._k_procexit or kind in self._accepts or kind in self._clones
        )
