"""Bare image names resolved through a real containerd and a real Docker Engine.

containerd is the session's daemon (tests/support/containerd.py); the corpus image is
imported with `ctr` and found as Trivy finds it: through $CONTAINERD_ADDRESS, in the one
namespace $CONTAINERD_NAMESPACE names ("default" when unset; Trivy, too, searches no
other, so images Kubernetes pulls into `k8s.io` need CONTAINERD_NAMESPACE=k8s.io). Docker
is Debian's dockerd, started once for this module on a socket of its own and reached
through $DOCKER_HOST. Both scans must list exactly the packages of the archive itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.model.inventory import ScanResult
from stockade.scan.errors import SourceError
from stockade.scan.sources import open_source
from tests.support.ci import skip_or_fail
from tests.support.containerd import Containerd
from tests.support.docker import Dockerd, docker_archive_from_oci, unavailable_reason

pytestmark = [pytest.mark.root, pytest.mark.podman]  # podman is the runtime tried first

CORPUS_REF = "localhost/anchors-test:latest"  # the name the corpus archive's index gives
NAMESPACE = "stockade-scan"


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    """Debian's dockerd on a socket of its own, for this module only."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail(reason)
    daemon = Dockerd(tmp_path_factory.mktemp("dockerd"))
    try:
        daemon.start()
    except RuntimeError as error:
        skip_or_fail(str(error).splitlines()[0])
    yield daemon
    daemon.stop()


def _identities(packages: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((p["purl"], p["path"]) for p in packages)


def _scan_by_name(name: str) -> list[tuple[str, str]]:
    """`stockade scan image NAME -f json`: the (purl, path) of every package it lists."""
    cli = CliRunner().invoke(
        app, ["scan", "image", name, "--no-cache", "--scanners", "pkg", "-f", "json"]
    )
    assert cli.exit_code == 0, cli.output
    report = json.loads(cli.stdout)
    assert report["target"] == name
    return _identities(report["packages"])


def _archive_identities(corpus_scan: ScanResult) -> list[tuple[str, str]]:
    return sorted((p.purl, p.path) for p in corpus_scan.packages)


def test_bare_name_resolves_through_containerd(
    containerd: Containerd,
    corpus_image: Path,
    corpus_scan: ScanResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"stockade-ctd-{uuid.uuid4().hex[:8]}:1"
    containerd.ctr("images", "import", "--no-unpack", str(corpus_image), namespace=NAMESPACE)
    # stored as `ctr pull` and nerdctl store a bare name; asked for bare, as a user would
    containerd.ctr("images", "tag", CORPUS_REF, f"docker.io/library/{name}", namespace=NAMESPACE)
    monkeypatch.setenv("CONTAINERD_ADDRESS", str(containerd.address))
    monkeypatch.delenv("CONTAINERD_NAMESPACE", raising=False)
    with pytest.raises(SourceError, match="containerd: no such image in namespace default"):
        open_source(name)
    monkeypatch.setenv("CONTAINERD_NAMESPACE", NAMESPACE)
    assert _scan_by_name(name) == _archive_identities(corpus_scan)


def test_bare_name_resolves_through_docker(
    dockerd: Dockerd,
    corpus_image: Path,
    corpus_scan: ScanResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"stockade-docker-{uuid.uuid4().hex[:8]}:1"
    # Docker 20.10 loads only `docker save` archives: the same blobs plus a manifest.json
    archive = docker_archive_from_oci(corpus_image, name, tmp_path / "image.tar")
    dockerd.docker("load", "-i", str(archive))
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.setenv("CONTAINERD_ADDRESS", str(tmp_path / "no-containerd.sock"))
    assert _scan_by_name(name) == _archive_identities(corpus_scan)
    with pytest.raises(SourceError, match="Docker: no such image;"):
        open_source(f"stockade-docker-{uuid.uuid4().hex[:8]}:1")
