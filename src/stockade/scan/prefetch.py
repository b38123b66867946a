"""Read a stream ahead in a thread: a layer's decompression and digests beside its walk.

Inflating a layer and hashing it (blob digest, diff id) is C code that releases the GIL
(ISA-L, zstd, OpenSSL); the tar walk and the analyzers are Python. Reading the
uncompressed stream in large chunks on a second thread lets both run at once on two
CPUs, and the walk takes its small reads from memory instead of through the chain.
"""

from __future__ import annotations

import queue
import threading

from stockade.scan.files import Readable

CHUNK_SIZE = 512 * 1024
DEPTH = 2  # chunks read ahead: DEPTH + 2 chunks held at most (queued, being read, in use)


class PrefetchReader:
    """A forward-only reader over `stream`, which a thread reads ahead in large chunks.

    An error the stream raises (a digest mismatch at its end, a corrupt layer) is raised
    by the `read` that reaches it, as if the stream were read here.
    """

    def __init__(self, stream: Readable, chunk_size: int = CHUNK_SIZE, depth: int = DEPTH) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._chunk = b""
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._produce, name="layer-prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._stream.read(self._chunk_size)
                self._chunks.put(chunk)
                if not chunk:
                    return
        except BaseException as e:  # handed to the reader, which raises it in its thread
            self._chunks.put(e)

    def _next_chunk(self) -> bool:
        """Move to the next chunk; False at the end of the stream."""
        if self._eof:
            return False
        item = self._chunks.get()
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        self._chunk, self._pos = item, 0
        self._eof = not item
        return not self._eof

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes (all that is left for -1); fewer only at the end."""
        end = self._pos + size
        if size >= 0 and end <= len(self._chunk):  # the common case: a header, a small file
            data = self._chunk[self._pos : end]
            self._pos = end
            return data
        parts = [self._chunk[self._pos :]]
        missing = size - len(parts[0])
        self._chunk, self._pos = b"", 0
        while (size < 0 or missing > 0) and self._next_chunk():
            take = len(self._chunk) if size < 0 else min(missing, len(self._chunk))
            parts.append(self._chunk[:take])
            self._pos = take
            missing -= take
        return b"".join(parts)

    def skip(self, size: int) -> int:
        """Pass over up to `size` bytes without copying them; how many were passed."""
        left = size
        while left > 0:
            available = len(self._chunk) - self._pos
            if available >= left:
                self._pos += left
                return size
            left -= available
            self._pos = len(self._chunk)
            if not self._next_chunk():
                break
        return size - left

    @property
    def reading_ahead(self) -> bool:
        """True while the thread still runs (until the stream's end, an error or `close`)."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the thread (it may be blocked handing over a chunk), then close the stream."""
        self._stop.set()
        try:  # make room: a put blocked on a full queue returns, and the loop sees the stop
            while True:
                self._chunks.get_nowait()
        except queue.Empty:
            pass
        self._thread.join()
        self._stream.close()
