"""Fixtures for profile tests on real containers: the tools image (python3 for a web server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ci import skip_or_fail
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.tools_image import build_tools_image, missing_tools

DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"


@pytest.fixture(scope="session")
def tools_image(podman: Podman, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The corpus's Debian image with python3, curl, busybox and friends added."""
    if reason := missing_tools():
        skip_or_fail(reason)
    debian = podman.load_image(corpus / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    return build_tools_image(podman, debian, tmp_path_factory.mktemp("tools-image"))


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A running real platform for one test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()
