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

from stockade.model import Event, FdInfo, Process
from stockade.sensor.bpf.argspec import TEXTS, WALKED, text, walked
from stockade.sensor.bpf.decoder_exec import argv_of, comm_of
from stockade.sensor.bpf.decoder_kinds import ACTORS_MAX, MALFORMED, DecodeError
from stockade.sensor.bpf.decoder_net import PAIRS4, PAIRS6, TUPLE_SIZE, pair_texts, tuple_fd_at
from stockade.sensor.bpf.sockaddr import (
    FAMILY_TYPE, L4, ROLE_SERVER, SOCK_TYPE_L4, parse_sockaddr, with_requested_peer,
)

# c/record.h: who acted (88 bytes), then what happened; slots follow the 168-byte header.
cdef enum:
    # who acted
    AT_CGROUP = 0
    AT_CAP_EFF = 8
    AT_CAP_PERM = 16
    AT_START = 24
    AT_PID = 32
    AT_TID = 36
    AT_PPID = 40
    AT_UID = 44
    AT_GID = 48
    AT_EUID = 52
    AT_EGID = 56
    AT_LOGINUID = 60
    AT_TTY = 64
    AT_VPID = 68
    AT_COMM = 72
    # what happened
    IDENT = 88
    HDR = 168
    AT_TS = IDENT
    AT_RES = IDENT + 8
    AT_A0 = IDENT + 16
    AT_A1 = IDENT + 24
    AT_A2 = IDENT + 32
    AT_A3 = IDENT + 40
    AT_A4 = IDENT + 48
    AT_A5 = IDENT + 56
    AT_KIND = IDENT + 64
    AT_CPU = IDENT + 66
    AT_FLAGS = IDENT + 68
    AT_SLEN = IDENT + 70
    F_EXE_UPPER = 1  # REC_F_EXE_UPPER
    F_EXE_MEMFD = 2  # REC_F_EXE_MEMFD
    F_TUPLE = 4  # REC_F_TUPLE: slot 1 holds a struct sock_tuple
    F_FD_UPPER = 8  # REC_F_FD_UPPER: the file opened is on an overlayfs upper layer
    F_FD_LOWER = 16  # REC_F_FD_LOWER: ... on a lower one
    AF_INET = 2

cdef uint32_t UNSET = 0xFFFFFFFF  # loginuid not set

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

cdef inline int64_t _loginuid(const char* p) noexcept:
    cdef uint32_t luid = _u32(p, AT_LOGINUID)
    return -1 if luid == UNSET else luid


cdef object _tuple_fd(bytes rec, const char* p, Py_ssize_t off, Py_ssize_t size, int64_t num,
                      bint server_side):
    """`decoder_net.tuple_fd_at`, with the sock_tuple's head read in place."""
    if size < TUPLE_SIZE:
        return tuple_fd_at(rec, off, size, num, server_side)
    cdef uint16_t family = _u16(p, off)
    cdef uint16_t stype = _u16(p, off + 2)
    cdef uint16_t proto = _u16(p, off + 4)
    cdef uint16_t lport = _u16(p, off + 6)
    cdef uint16_t rport = _u16(p, off + 8)
    cdef uint16_t sport, dport
    server_side = server_side or _u16(p, off + 10) == ROLE_SERVER  # accepted by the kernel's map
    raw = rec[off + 12 : off + TUPLE_SIZE]
    pair = (PAIRS4 if family == AF_INET else PAIRS6).get(raw) or pair_texts(raw, family)
    if server_side:
        sip, dip = pair[1], pair[0]
        sport, dport = rport, lport
    else:
        sip, dip = pair[0], pair[1]
        sport, dport = lport, rport
    if family == AF_INET:
        name = f"{sip}:{sport}->{dip}:{dport}"
    else:
        name = f"[{sip}]:{sport}->[{dip}]:{dport}"
    return FdInfo(
        num=num, type=FAMILY_TYPE.get(family, "socket"), name=name,
        l4proto=L4.get(proto, "") or SOCK_TYPE_L4.get(stype, ""), sip=sip, sport=sport,
        dip=dip, dport=dport, is_server=server_side,
    )


cdef class CompiledReaders:
    """Readers of openat, socket, connect, accept(4), clone/fork/vfork, procexit and exec."""

    cdef dict _procs
    cdef dict _pid_keys
    cdef object _forget_python
    cdef list _fallback
    cdef object _host
    cdef int64_t _offset
    cdef bytes _last_key
    cdef object _last_proc
    cdef dict _clones
    cdef dict _accepts
    cdef dict _execs
    cdef uint32_t _k_openat, _k_socket, _k_connect, _k_procexit

    def __init__(self, dict procs, dict pid_keys, forget, list fallback, host,
                 int64_t offset, dict kinds, dict clones, dict accepts, dict execs):
        self._procs = procs  # identity (the record's first 88 bytes) -> its shared Process
        self._pid_keys = pid_keys  # pid -> its identities in procs (dropped at its exit)
        self._forget_python = forget  # the Python readers' `_forget`, which drops them
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
        self._execs = execs

    cdef object _proc(self, bytes rec, const char* p):
        if self._last_proc is not None and memcmp(p, PyBytes_AS_STRING(self._last_key), IDENT) == 0:
            return self._last_proc
        key = rec[:IDENT]
        proc = self._procs.get(key)
        if proc is None:  # what the Python readers' `_actor` does
            if len(self._procs) >= ACTORS_MAX:
                self._procs.clear()
                self._pid_keys.clear()
            proc = self._procs[key] = Process(
                pid=_u32(p, AT_PID), tid=_u32(p, AT_TID), ppid=_u32(p, AT_PPID),
                vpid=_u32(p, AT_VPID), name=comm_of(rec[AT_COMM:IDENT]), uid=_u32(p, AT_UID),
                gid=_u32(p, AT_GID), euid=_u32(p, AT_EUID), egid=_u32(p, AT_EGID),
                loginuid=_loginuid(p), tty=_u32(p, AT_TTY),
                start_ns=<int64_t>_u64(p, AT_START) + self._offset,
                cap_effective=_u64(p, AT_CAP_EFF), cap_permitted=_u64(p, AT_CAP_PERM),
                cgroup_id=_u64(p, AT_CGROUP),
            )
            keys = self._pid_keys.get(proc.pid)
            if keys is None:
                self._pid_keys[proc.pid] = [key]
            else:
                (<list>keys).append(key)
        self._last_key = key
        self._last_proc = proc
        return proc

    cdef _forget(self, uint32_t pid):
        """The exited group's identities go, and neither side's last actor stands."""
        self._forget_python(pid)
        self._last_proc = None

    def decode_all(self, records):
        """Decode records in order: the events, and how many were malformed (skipped)."""
        cdef list events = []
        cdef long errors = 0
        cdef bytes rec
        for item in records:
            rec = item  # a TypeError for anything but bytes, as in the Python readers
            try:
                event = self._read(rec)
            except MALFORMED:
                errors += 1
            else:  # _read checked the length: the header is there
                event.cpu = _u16(PyBytes_AS_STRING(rec), AT_CPU)
                events.append(event)
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
        kind = _u16(p, AT_KIND)
        l0 = _u16(p, AT_SLEN)
        l1 = _u16(p, AT_SLEN + 2)
        l2 = _u16(p, AT_SLEN + 4)
        l3 = _u16(p, AT_SLEN + 6)
        if HDR + <Py_ssize_t>l0 + l1 + l2 + l3 > n or not self._known(kind, l3):
            # the Python readers say what is wrong, or read a kind this one does not
            return self._fallback[<unsigned char>p[AT_KIND]](rec)
        ts = _s64(p, AT_TS) + self._offset
        if kind in self._execs:
            return self._exec(rec, p, kind, ts, l0, l1, l2, l3)
        res = _s64(p, AT_RES)
        proc = self._proc(rec, p)
        host = self._host
        if kind == self._k_openat:
            raw = ""  # the path as given (fd.nameraw)
            if l0 > 1:
                raw = TEXTS.get(rec[HDR : HDR + l0 - 1])
                if raw is None:
                    raw = text(rec, HDR, l0)
            if l2 > 0:  # the kernel's walk of the new fd
                o2 = HDR + l0 + l1
                name = WALKED.get(rec[o2 : o2 + l2 - 1])
                if name is None:
                    name = walked(rec, o2, l2)
            else:  # else the path as given
                name = raw
            open_flags = _u64(p, AT_A2)
            fd = FdInfo(num=res, type="file", name=name, flags=open_flags, nameraw=raw)
            ino = _u64(p, AT_A5)
            if ino:  # 0: the kernel could not read the new file
                rflags = _u16(p, AT_FLAGS)
                fd.dev, fd.ino = _u64(p, AT_A4), ino
                fd.layer = ("upper" if rflags & F_FD_UPPER else
                            "lower" if rflags & F_FD_LOWER else "none")
            return Event(
                type="openat", ts=ts, proc=proc, container=host, fd=fd,
                res=res,
                args={"fd": res, "dirfd": _s32(p, AT_A0), "name": raw,
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
                fd = with_requested_peer(_tuple_fd(rec, p, o1, l1, num, False), rec[HDR:o1])
            elif l0:
                family, addr, port = parse_sockaddr(rec[HDR:o1])
                fd = FdInfo(num=num, type=family, name=addr, dip=addr, dport=port)
            return Event(
                type="connect", ts=ts, proc=proc, container=host, fd=fd, res=res,
                args={"res": res, "tuple": fd.name if fd is not None else "", "fd": num},
                source="ebpf",
            )
        elif kind == self._k_procexit:
            self._forget(_u32(p, AT_PID))
            code = _u64(p, AT_A0) or _u64(p, AT_A1)
            return Event(
                type="procexit", ts=ts, proc=proc, container=host, res=res,
                args={"status": code, "ret": (code >> 8) & 0xFF, "sig": code & 0x7F,
                      "core": code >> 7 & 1},
                source="ebpf",
            )
        elif kind in self._accepts:
            flags = _u16(p, AT_FLAGS)
            fd = _tuple_fd(rec, p, HDR + l0, l1, res, True) if flags & F_TUPLE else None
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

    cdef object _exec(self, bytes rec, const char* p, uint32_t kind, int64_t ts, Py_ssize_t l0,
                      Py_ssize_t l1, Py_ssize_t l2, Py_ssize_t l3):
        """A successful exec (only those carry slot 3, the cwd): a Process of its own."""
        cdef Py_ssize_t o1 = HDR + l0
        cdef Py_ssize_t o2 = o1 + l1
        cdef uint16_t flags = _u16(p, AT_FLAGS)
        argv, joined = argv_of(rec[o1:o2])
        filename = text(rec, HDR, l0)
        exepath = walked(rec, o2, l2) or filename
        cwd = walked(rec, o2 + l2, l3)
        name = comm_of(rec[AT_COMM:IDENT])
        pid, ppid, tty = _u32(p, AT_PID), _u32(p, AT_PPID), _u32(p, AT_TTY)
        uid, gid, loginuid = _u32(p, AT_UID), _u32(p, AT_GID), _loginuid(p)
        cap_eff, cap_perm = _u64(p, AT_CAP_EFF), _u64(p, AT_CAP_PERM)
        proc = Process(
            pid=pid, tid=_u32(p, AT_TID), ppid=ppid, vpid=_u32(p, AT_VPID), name=name,
            exepath=exepath, argv=argv, cwd=cwd, uid=uid, gid=gid, euid=_u32(p, AT_EUID),
            egid=_u32(p, AT_EGID), loginuid=loginuid, tty=tty,
            start_ns=<int64_t>_u64(p, AT_START) + self._offset, cap_effective=cap_eff,
            cap_permitted=cap_perm, exe_upper_layer=bool(flags & F_EXE_UPPER),
            exe_from_memfd=bool(flags & F_EXE_MEMFD), cgroup_id=_u64(p, AT_CGROUP),
        )
        args = {
            "res": 0,
            "exe": argv[0] if argv else exepath,
            "args": joined,
            "pid": pid,
            "ptid": ppid,
            "cwd": cwd,
            "comm": name,
            "filename": filename,
            "trusted_exepath": exepath,
            "tty": tty,
            "loginuid": loginuid,
            "uid": uid,
            "gid": gid,
            "cap_permitted": cap_perm,
            "cap_effective": cap_eff,
            "old_pid": _u64(p, AT_A0),
        }
        return Event(
            type=self._execs[kind], ts=ts, proc=proc, container=self._host, res=0, args=args,
            source="ebpf",
        )

    cdef inline bint _known(self, uint32_t kind, uint16_t l3):
        return (
            kind == self._k_openat or kind == self._k_socket or kind == self._k_connect
            or kind == self._k_procexit or kind in self._accepts or kind in self._clones
            or (l3 > 0 and kind in self._execs)  # failed execs go to the general path
        )
