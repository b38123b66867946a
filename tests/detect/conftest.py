"""Fixtures for detection tests on real containers: one live pipeline for the package,
Stockade's default rules, Falco's rules (from the corpus) and the images scenarios run in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.detect import DetectorConfig
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.rules import RulesDetector
from tests.support import capabilities
from tests.support.ci import skip_or_fail
from tests.support.live import LivePipeline
from tests.support.podman import Podman
from tests.support.tools_image import build_tools_image, missing_tools

DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"
FALCO_RULE_FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml")


@pytest.fixture(scope="session")
def default_rules() -> RulesDetector:
    """Stockade's default rules, as the agent loads them."""
    return RulesDetector.from_config(DetectorConfig())


@pytest.fixture(scope="session")
def falco_rules(corpus: Path) -> RulesDetector:
    """Falco's stable and incubating rules, read from the corpus."""
    detector = RulesDetector.from_paths([corpus / "falco" / "rules" / f for f in FALCO_RULE_FILES])
    assert not detector.ruleset.errors, detector.ruleset.errors[:3]
    return detector


# Package scope: detached when tests/detect ends, not at the end of the session; its thread
# would otherwise judge every event of the host under all later tests, on the same cores.
@pytest.fixture(scope="package")
def live(default_rules: RulesDetector, falco_rules: RulesDetector) -> Iterator[LivePipeline]:
    """The eBPF sensor and context stage, attached to what both rule sets and the default
    correlations need (for the tests of this package)."""
    for marker in ("ebpf", "podman"):
        if reason := capabilities.CHECKS[marker]():
            skip_or_fail(f"{marker}: {reason}")
    correlations = CorrelationDetector.from_config(DetectorConfig())
    pipeline = LivePipeline([default_rules, falco_rules, correlations])
    pipeline.start()
    yield pipeline
    pipeline.stop()


@pytest.fixture(scope="session")
def debian_image(podman: Podman, corpus: Path) -> str:
    """The corpus's Debian 12 image (bash, coreutils, apt, util-linux, perl), loaded once."""
    return podman.load_image(corpus / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)


@pytest.fixture(scope="session")
def tools_image(podman: Podman, debian_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Debian image with netcat, socat, nmap, python3, strace, curl and busybox added."""
    if reason := missing_tools():
        skip_or_fail(reason)
    return build_tools_image(podman, debian_image, tmp_path_factory.mktemp("tools-image"))
