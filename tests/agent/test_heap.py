"""The agent's malloc tuning: large freed buffers leave the resident set."""

from __future__ import annotations

import ctypes.util

import pytest

from stockade.agent.heap import return_large_buffers
from tests.support.ci import require


def test_glibc_takes_a_fixed_mmap_threshold() -> None:
    require(ctypes.util.find_library("c") is not None, "no C library found")
    assert return_large_buffers() is True


def test_no_mallopt_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    assert return_large_buffers() is False
