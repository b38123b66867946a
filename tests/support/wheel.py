"""The stockade wheel, built once per test session from a clean copy of the sources.

The packaging test reads its file list and deploy/images/build.sh installs it into the
images (STOCKADE_WHEEL), so the suite builds the wheel (Cython modules and CO-RE object
compiled) once instead of once for each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED_C = {"stockade/sensor/bpf/_readers.c", "stockade/context/_batch.c"}  # from .pyx
BUILD_TIMEOUT_S = 600


def project_copy(into: Path) -> Path:
    """The project's sources, without build products, to build from where nothing is left."""
    into.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, into / name)
    generated = (Path(c).name for c in GENERATED_C)
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info", *generated)
    shutil.copytree(ROOT / "src", into / "src", ignore=skip)
    return into


def build_wheel(work: Path) -> Path:
    """Build the wheel from a clean copy of the sources under `work`; its path."""
    project = project_copy(work / "project")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), "."],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT_S,
    )
    (wheel,) = work.glob("stockade-*.whl")
    return wheel
