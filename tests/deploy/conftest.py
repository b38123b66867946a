"""Fixtures of the deploy tests: the images, built once for every module that runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deploy_images import build_images
from tests.support.podman import Podman


@pytest.fixture(scope="session")
def images(podman: Podman, stockade_wheel: Path) -> tuple[str, str]:
    """The agent and platform images of deploy/images/build.sh (agent, platform), with the
    session's wheel (the packaging test checks the same one)."""
    assert podman is not None  # podman works here (else the fixture skipped or failed)
    return build_images(stockade_wheel)
