"""The read-ahead thread hands out exactly the stream's bytes, its errors, and stops on close."""

from __future__ import annotations

import io
import threading
import types
from dataclasses import dataclass

import pytest

from stockade.scan.errors import DigestMismatchError
from stockade.scan.files import FileInfo, WalkLimits
from stockade.scan.prefetch import PrefetchReader
from stockade.scan.walker import WalkReport, walk_layer
from tests.scan.imagebuild import LayerSpec, compress, layer_tar, sha256

DATA = bytes(range(256)) * 41  # 10,496 bytes: no chunk size below divides it evenly


class FailingAtEnd(io.BytesIO):
    """A stream that raises at its end, as a digest check does."""

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if not data:
            raise DigestMismatchError("layer x: blob hashes to 00, not sha256:11")
        return data


class Closing(io.BytesIO):
    """A stream that remembers being closed."""

    closed_by_reader = False

    def close(self) -> None:
        self.closed_by_reader = True
        super().close()


@pytest.mark.parametrize("chunk_size", [1, 7, 512, 1 << 20], ids=["1", "7", "512", "1MiB"])
@pytest.mark.parametrize("step", [1, 100, 512, 5000], ids=["1", "100", "512", "5000"])
def test_reads_and_skips_give_the_stream_in_order(chunk_size: int, step: int) -> None:
    reader = PrefetchReader(io.BytesIO(DATA), chunk_size=chunk_size, depth=2)
    got, pos = [], 0
    while pos < len(DATA):
        if (pos // step) % 2:
            assert reader.skip(step) == min(step, len(DATA) - pos)
        else:
            got.append((pos, reader.read(step)))
        pos += step
    assert reader.read(10) == b""
    assert reader.skip(10) == 0
    reader.close()
    assert all(data == DATA[at : at + step] for at, data in got)


def test_read_all_and_close_at_once() -> None:
    reader = PrefetchReader(io.BytesIO(DATA), chunk_size=1000)
    assert reader.read(3) == DATA[:3]
    assert reader.read() == DATA[3:]
    reader.close()


def test_an_error_at_the_end_is_raised_by_the_read_that_reaches_it() -> None:
    reader = PrefetchReader(FailingAtEnd(DATA), chunk_size=4096)
    assert reader.read(len(DATA)) == DATA
    with pytest.raises(DigestMismatchError, match="blob hashes to"):
        reader.read(1)
    reader.close()


def test_close_mid_stream_stops_the_thread_and_closes_the_stream() -> None:
    stream = Closing(DATA * 100)
    reader = PrefetchReader(stream, chunk_size=16, depth=1)  # the thread blocks on a full queue
    assert reader.read(5) == DATA[:5]
    reader.close()
    assert stream.closed_by_reader
    assert not reader.reading_ahead


@dataclass(frozen=True)
class Whole:
    """Every file read into memory."""

    in_memory: bool = True
    head_size: int = 0

    def after_head(self, head: bytes) -> Whole:
        del head
        return self


def _every_file(info: FileInfo) -> Whole:
    del info
    return Whole()


def _prefetching() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "layer-prefetch"]


def _layer() -> tuple[bytes, bytes]:
    """(gzip blob, tar) of a layer that inflates to far more than the threads read ahead."""
    raw = layer_tar(LayerSpec(files={f"f{i}": bytes(256 * 1024) for i in range(64)}))
    return compress(raw, "gzip"), raw


def test_an_abandoned_layer_walk_stops_its_threads() -> None:
    blob, raw = _layer()
    walk = walk_layer(
        io.BytesIO(blob), "layer x", _every_file, WalkLimits(), WalkReport(), sha256(raw)
    )
    assert isinstance(walk, types.GeneratorType)
    info, _, content = next(walk)
    assert isinstance(content, bytes)
    assert (info.path, len(content)) == ("f0", 256 * 1024)
    assert _prefetching()  # reading ahead, blocked on full queues
    walk.close()  # as when an analyzer's error ends the walk
    assert not _prefetching()


def test_a_layer_whose_tar_is_not_its_diff_id_fails_after_its_last_file() -> None:
    blob, _ = _layer()
    walk = walk_layer(
        io.BytesIO(blob), "layer x", _every_file, WalkLimits(), WalkReport(), sha256(b"other")
    )
    with pytest.raises(DigestMismatchError, match=r"layer x \(uncompressed, diff id\)"):
        for _ in walk:
            pass
    assert not _prefetching()
