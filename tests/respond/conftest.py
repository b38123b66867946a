"""Fixtures for response actions: the context they run with, and busybox containers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.respond.base import ActionContext


@pytest.fixture
def action_context(tmp_path: Path) -> Iterator[ActionContext]:
    """A fresh action context with its own state dir; closed (blocks lifted) after the test."""
    context = ActionContext(tmp_path / "respond-state")
    yield context
    context.close()
