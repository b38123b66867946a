"""A path longer than the kernel's dentry walk keeps is reported as given, not walked.

A walk cut short keeps the leaf end and would read as a different absolute path (a deep
`.../etc/shadow` could pass for `/etc/shadow`); the argument as given (cut at the slot's
size when longer) at least never invents a prefix.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.sensor import Collector

pytestmark = [pytest.mark.ebpf, pytest.mark.root]


def test_a_long_path_is_not_reported_truncated(collector: Collector, tmp_path: Path) -> None:
    target = tmp_path / ("w" * 150) / ("x" * 150) / f"{uuid.uuid4().hex}.txt"
    target.parent.mkdir(parents=True)
    target.write_text("x")
    code = f"open({str(target)!r}).close()"
    subprocess.run([sys.executable, "-c", code], check=True)
    found = collector.wait_for(
        lambda e: e.type == "openat" and e.fd is not None and "w" * 150 in e.fd.name
    )
    assert found
    assert all(e.fd is not None and str(target).startswith(e.fd.name) for e in found)


def test_a_short_path_is_still_walked(collector: Collector, tmp_path: Path) -> None:
    target = tmp_path / f"{uuid.uuid4().hex}.txt"
    target.write_text("x")
    code = f"import os; os.chdir({str(target.parent)!r}); open({target.name!r}).close()"
    subprocess.run([sys.executable, "-c", code], check=True)
    found = collector.wait_for(
        lambda e: e.type == "openat" and e.fd is not None and target.name in e.fd.name
    )
    assert found and {e.fd.name for e in found if e.fd is not None} == {str(target)}
