"""The CI rule: a missing capability or test input skips a test, except under CI=true.

In CI everything a test needs is installed, so a skip there would hide a broken setup;
`skip_or_fail` fails instead. Every skip for something missing goes through here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip for want of `reason`; under CI=true, fail instead."""
    if IN_CI:
        pytest.fail(f"required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def require(condition: object, reason: str) -> None:
    """Go on only if `condition` holds; otherwise `skip_or_fail(reason)`."""
    if not condition:
        skip_or_fail(reason)


def require_file(path: Path, what: str = "test input") -> Path:
    """`path` if it is a file; otherwise `skip_or_fail` saying which `what` is missing."""
    require(path.is_file(), f"{what} missing: {path}")
    return path
