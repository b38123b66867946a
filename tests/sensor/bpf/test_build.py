"""The BPF object is built once per (kernel BTF, C sources) and then reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.sensor.bpf.build import build_key, build_object, c_sources


def test_key_changes_with_btf_and_sources() -> None:
    sources = c_sources()
    assert {"sensor.bpf.c", "common.bpf.h", "record.h", "kinds.h"} <= set(sources)
    key = build_key(b"btf", sources)
    assert build_key(b"btf", dict(sources)) == key
    assert build_key(b"other btf", sources) != key
    changed = {**sources, "sensor.bpf.c": sources["sensor.bpf.c"] + b"\n"}
    assert build_key(b"btf", changed) != key


@pytest.mark.ebpf
def test_object_is_cached(tmp_path: Path) -> None:
    first = build_object(tmp_path)
    built_at = first.stat().st_mtime_ns
    assert first.read_bytes()[:4] == b"\x7fELF"
    assert build_object(tmp_path) == first
    assert first.stat().st_mtime_ns == built_at
    assert [p.name for p in first.parent.iterdir()] == ["sensor.bpf.o"]  # no build leftovers
