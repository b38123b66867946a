"""Makes one of each system call the sensor's syscall tests expect, then prints its pid.

Run as a child of the test: the sensor filters out the process that loaded it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]  # fmt: skip
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
SYS_PIPE_X86_64, SYS_FCHMODAT2, AT_FDCWD, PR_SET_NAME = 22, 452, -100, 15
PROT_RWX, MAP_PRIVATE_ANON = 7, 0x22


def sockets() -> None:
    """A TCP pair redirected with dup*, data both ways in each family, socket options."""
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname())
    peer, _ = srv.accept()
    fd = cli.fileno()
    libc.dup(fd)  # os.dup is fcntl(F_DUPFD_CLOEXEC)
    os.dup2(fd, 100)
    libc.dup3(fd, 101, os.O_CLOEXEC)
    cli.send(b'{"id":1,"method":"mining.subscribe","params":[]}')  # sendto
    peer.recv(100)  # recvfrom
    cli.sendmsg([b"sendmsg-data"])
    peer.recvmsg(100)
    os.write(fd, b"write-data")
    os.read(peer.fileno(), 100)
    os.writev(fd, [b"writev-data"])
    os.readv(peer.fileno(), [bytearray(100)])
    cli.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    cli.shutdown(socket.SHUT_WR)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"udp-data", srv.getsockname())
    socket.socketpair(socket.AF_UNIX)
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()


class IOVec(ctypes.Structure):
    """struct iovec."""

    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    """struct msghdr."""

    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]  # fmt: skip


class MMsgHdr(ctypes.Structure):
    """struct mmsghdr."""

    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint32)]


def one_mmsg(buf: ctypes.Array[ctypes.c_char]) -> MMsgHdr:
    """A vector of one message over `buf`."""
    iov = IOVec(ctypes.cast(buf, ctypes.c_void_p), len(buf))
    msg = MMsgHdr()
    msg.hdr.iov = ctypes.pointer(iov)
    msg.hdr.iovlen = 1
    return msg


def datagrams() -> None:
    """sendmmsg and recvmmsg of one message over connected UDP sockets."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.connect(rx.getsockname())
    out = one_mmsg(ctypes.create_string_buffer(b"mmsg-data", 9))
    libc.sendmmsg(tx.fileno(), ctypes.byref(out), 1, 0)
    got = one_mmsg(ctypes.create_string_buffer(64))
    libc.recvmmsg(rx.fileno(), ctypes.byref(got), 1, 0, None)


def files(directory: str) -> None:
    """truncate, ftruncate, fchmodat2 (setuid bit), pread/pwrite, pipes, close."""
    path = os.path.join(directory, "trunc")
    with open(path, "wb") as f:
        f.write(b"0123456789abcdef")
    os.truncate(path, 10)
    fd = os.open(path, os.O_RDWR)
    os.ftruncate(fd, 5)
    os.pwrite(fd, b"pwrite-data", 0)
    os.pread(fd, 20, 0)
    os.close(fd)
    libc.syscall(SYS_FCHMODAT2, AT_FDCWD, path.encode(), 0o4755, 0)
    os.pipe2(os.O_NONBLOCK)
    fds = (ctypes.c_int * 2)()
    libc.syscall(SYS_PIPE_X86_64, fds)


def process() -> None:
    """prctl, kill/tkill/tgkill, an executable anonymous mapping and mprotect."""
    libc.prctl(PR_SET_NAME, b"stockade-t", 0, 0, 0)
    sleeper = subprocess.Popen(["sleep", "30"])
    os.kill(sleeper.pid, signal.SIGKILL)
    sleeper.wait()
    signal.pthread_kill(threading.get_ident(), 0)  # tgkill
    libc.syscall(200, threading.get_native_id(), 0)  # tkill (x86_64)
    signal.signal(signal.SIGUSR1, lambda _sig, _frame: None)
    os.kill(os.getpid(), signal.SIGUSR1)  # delivered to the handler: signaldeliver
    addr = libc.mmap(None, 4096, PROT_RWX, MAP_PRIVATE_ANON, -1, 0)
    libc.mprotect(addr, 4096, 5)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        sockets()
        datagrams()
        files(d)
        process()
    sys.stdout.write(f"{os.getpid()}\n")
