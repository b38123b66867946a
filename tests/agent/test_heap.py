"""The agent's malloc tuning: large freed buffers leave the resident set."""

from __future__ import annotations

import ctypes.util

import pytest

from stockade.agent.heap import return_large_buffers


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library found")
def test_glibc_takes_a_fixed_mmap_threshold() -> None:
    assert return_large_buffers() is True


def test_no_mallopt_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    assert return_large_buffers() is False
