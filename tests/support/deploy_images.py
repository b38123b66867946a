"""The container images of deploy/images/build.sh, built once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.ci import require
from tests.support.podman import BASE_FLAGS, RUN_FLAGS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BUILD = DEPLOY / "images" / "build.sh"
TAG = "test"
PLATFORM_IMAGE = f"localhost/stockade-platform:{TAG}"
AGENT_IMAGE = f"localhost/stockade-agent:{TAG}"
BUILD_TIMEOUT_S = 1500  # a first build on a busy 2-core machine: debootstrap and all wheels


def build_images(wheel: Path) -> tuple[str, str]:
    """Both images (agent, platform), built by the documented script (the root filesystem
    from its cache) around `wheel`, the stockade wheel built from this tree."""
    require(shutil.which("debootstrap"), "debootstrap not installed")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "STOCKADE_IMAGE_TAG": TAG,
        "STOCKADE_WHEEL": str(wheel),
        "PODMAN_FLAGS": " ".join(BASE_FLAGS),
        "PODMAN_RUN_FLAGS": " ".join(RUN_FLAGS),
    }
    built = subprocess.run(
        [str(BUILD), "all"], env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    assert built.returncode == 0, built.stderr[-4000:]
    assert built.stdout.split() == [AGENT_IMAGE, PLATFORM_IMAGE]
    return AGENT_IMAGE, PLATFORM_IMAGE
