"""Bare image names through the local runtimes (Trivy's way) and `oci-dir:` beside `oci:`."""

from __future__ import annotations

import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.model.inventory import Ecosystem
from stockade.scan.errors import SourceError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from stockade.scan.sources import looks_like_image_name, open_source
from tests.support import capabilities
from tests.support.ci import skip_or_fail
from tests.support.podman import Podman

PKG_ONLY = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}))


@pytest.fixture(scope="module")
def corpus_in_podman(corpus: Path) -> Iterator[str]:
    """The corpus image loaded into podman under a name of its own; removed afterwards."""
    reason = capabilities.CHECKS["podman"]()
    if reason:
        skip_or_fail(f"podman: {reason}")
    podman = Podman()
    loaded = podman.cmd("load", "-q", "-i", str(corpus / "images/debian12-app.oci.tar"))
    loaded_name = loaded.stdout.decode().strip().splitlines()[-1].split(": ", 1)[-1]
    name = f"localhost/stockade-runtime-test-{uuid.uuid4().hex[:8]}:1"
    podman.cmd("tag", loaded_name, name)
    yield name
    podman.cmd("untag", name, name, check=False)


def test_image_names_are_told_from_paths() -> None:
    for name in ("app", "localhost/app:1", "registry:5000/team/app:1.2", "debian:12"):
        assert looks_like_image_name(name), name
    for path in ("/tmp/x.tar", "./image.tar", "Some Dir", "a b"):
        assert not looks_like_image_name(path), path


@pytest.mark.podman
def test_bare_name_resolves_through_podman(corpus_in_podman: str) -> None:
    result = scan_image(corpus_in_podman, PKG_ONLY)
    assert result.target == corpus_in_podman
    assert len(result.packages) == 150
    assert sum(p.ecosystem is Ecosystem.DEBIAN for p in result.packages) == 88
    cli = CliRunner().invoke(
        app, ["scan", "image", corpus_in_podman, "--no-cache", "--scanners", "pkg"]
    )
    assert cli.exit_code == 0, cli.output
    assert "debian 12.15" in cli.stdout


@pytest.mark.podman
def test_unknown_name_names_every_runtime_tried() -> None:
    missing = f"localhost/stockade-no-such-image-{uuid.uuid4().hex[:8]}:1"
    with pytest.raises(SourceError) as caught:
        open_source(missing)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{missing}: no such file")
    for runtime in ("podman: no such image", "Docker:", "containerd:"):
        assert runtime in message
    cli = CliRunner().invoke(app, ["scan", "image", missing, "--no-cache", "--scanners", "pkg"])
    assert cli.exit_code == 2
    assert "no local runtime has that image" in cli.output and "Traceback" not in cli.output


def test_oci_dir_is_oci(corpus_image: Path, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    with tarfile.open(corpus_image) as tar:
        tar.extractall(layout, filter="data")
    by_trivy_name = scan_image(f"oci-dir:{layout}", PKG_ONLY)
    assert len(by_trivy_name.packages) == 150
    assert by_trivy_name.layers == scan_image(f"oci:{layout}", PKG_ONLY).layers
