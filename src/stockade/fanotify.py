"""fanotify's kernel interface, shared by every user of it: flags, records, a typed libc.

The sensor's fallback source, file integrity monitoring, exec blocking and the exec guard
each hold their own fanotify group; this module is what they have in common with the
kernel (linux/fanotify.h), so the numbers and record layouts are written once. The
standard library has no fanotify binding and the PyPI ones are unmaintained or lack
FID mode and permission events, so ctypes over libc it is.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import threading
from collections.abc import Iterator

# fanotify_init flags
FAN_CLOEXEC, FAN_NONBLOCK = 0x1, 0x2
FAN_CLASS_NOTIF, FAN_CLASS_CONTENT = 0x0, 0x4
# fanotify_mark flags
FAN_MARK_ADD, FAN_MARK_REMOVE = 0x1, 0x2
FAN_MARK_MOUNT = 0x10
FAN_MARK_IGNORED_MASK = 0x20  # cleared by the kernel when the file is modified
FAN_MARK_FLUSH = 0x80  # without FAN_MARK_MOUNT: every inode mark of the group
FAN_MARK_FILESYSTEM = 0x100
# event masks
FAN_MODIFY, FAN_CLOSE_WRITE = 0x2, 0x8
FAN_Q_OVERFLOW = 0x4000
FAN_OPEN_EXEC_PERM = 0x00040000
# permission responses
FAN_ALLOW, FAN_DENY = 0x01, 0x02
AT_FDCWD = -100

METADATA = struct.Struct("<IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid
RESPONSE = struct.Struct("<iI")  # fd, response
_POLL_MS = 200  # how often a permission thread looks at its stop flag


def fanotify_libc() -> ctypes.CDLL:
    """libc with fanotify_init and fanotify_mark typed."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [
        ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p,
    ]  # fmt: skip
    return libc


def last_error() -> str:
    """The text of the errno a libc call left."""
    return os.strerror(ctypes.get_errno())


def reads_until(fd: int, stop: threading.Event) -> Iterator[bytes]:
    """Each read of the (non-blocking) group `fd` until `stop` is set or the group closes."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not stop.is_set():
        if not poller.poll(_POLL_MS):
            continue
        try:
            yield os.read(fd, 4096)
        except BlockingIOError:
            continue
        except OSError:
            return


def permission_fds(data: bytes) -> Iterator[int]:
    """The event file descriptors of one read of a permission group, in order."""
    offset = 0
    while offset + METADATA.size <= len(data):
        length, _, _, _, _, fd, _ = METADATA.unpack_from(data, offset)
        offset += max(length, METADATA.size)
        if fd >= 0:
            yield fd


def answer(group_fd: int, event_fd: int, allow: bool) -> None:
    """Answer one permission event, then close its file descriptor."""
    try:
        os.write(group_fd, RESPONSE.pack(event_fd, FAN_ALLOW if allow else FAN_DENY))
    finally:
        os.close(event_fd)
