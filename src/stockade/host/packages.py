"""Installed packages: deb_packages, rpm_packages, apk_packages, python_packages,
npm_packages (global). Parsers are the image scanner's; the files are the scope's."""

from __future__ import annotations

import json
from email.parser import HeaderParser
from pathlib import Path

from stockade.host.table import InventoryTable, Row, Scope, table
from stockade.scan.analyzers.dpkg import paragraphs
from stockade.scan.analyzers.rpm import packages_from_sqlite

RPMDB_PATHS = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
PYTHON_SITE_GLOBS = (
    "usr/lib/python3/dist-packages",
    "usr/lib/python3*/site-packages",
    "usr/local/lib/python3*/dist-packages",
    "usr/local/lib/python3*/site-packages",
)
NPM_GLOBAL_DIRS = ("usr/lib/node_modules", "usr/local/lib/node_modules")


class DebPackageRow(Row, frozen=True, kw_only=True):
    """osquery deb_packages."""

    name: str
    version: str
    source: str
    size: int
    arch: str
    revision: str
    status: str
    maintainer: str
    section: str
    priority: str


@table
class DebPackages(InventoryTable):
    """Every package dpkg knows of (var/lib/dpkg/status), with its status."""

    name = "deb_packages"
    row = DebPackageRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per dpkg paragraph with a version."""
        rows: list[Row] = []
        for p in paragraphs(scope.read("/var/lib/dpkg/status")):
            version = p.get("Version", "")
            if not p.get("Package") or not version:
                continue
            size = p.get("Installed-Size", "")
            rows.append(
                DebPackageRow(
                    name=p["Package"],
                    version=version,
                    source=p.get("Source", ""),
                    size=int(size) if size.isdigit() else 0,
                    arch=p.get("Architecture", ""),
                    revision=version.rpartition("-")[2] if "-" in version else "",
                    status=p.get("Status", ""),
                    maintainer=p.get("Maintainer", ""),
                    section=p.get("Section", ""),
                    priority=p.get("Priority", ""),
                    container=scope.container,
                    image=scope.image,
                )
            )
        return rows


class RpmPackageRow(Row, frozen=True, kw_only=True):
    """osquery rpm_packages."""

    name: str
    version: str
    release: str
    arch: str
    epoch: str


@table
class RpmPackages(InventoryTable):
    """Packages of an SQLite rpm database; none when the scope has no rpmdb."""

    name = "rpm_packages"
    row = RpmPackageRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per rpm header."""
        for candidate in RPMDB_PATHS:
            try:
                content = scope.path(candidate).read_bytes()
            except OSError:
                continue
            rows: list[Row] = []
            for pkg in packages_from_sqlite(content, candidate):
                epoch, _, rest = pkg.version.rpartition(":")
                version, _, release = rest.partition("-")
                rows.append(
                    RpmPackageRow(
                        name=pkg.name,
                        version=version,
                        release=release,
                        arch=pkg.arch,
                        epoch=epoch,
                        container=scope.container,
                        image=scope.image,
                    )
                )
            return rows
        return []


class ApkPackageRow(Row, frozen=True, kw_only=True):
    """osquery apk_packages."""

    name: str
    version: str
    arch: str
    license: str
    origin: str


@table
class ApkPackages(InventoryTable):
    """Alpine packages from lib/apk/db/installed."""

    name = "apk_packages"
    row = ApkPackageRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per apk record."""
        rows: list[Row] = []
        for block in scope.read("/lib/apk/db/installed").split("\n\n"):
            f: dict[str, str] = {}
            for line in block.splitlines():
                if len(line) > 2 and line[1] == ":":
                    f.setdefault(line[0], line[2:])
            if f.get("P") and f.get("V"):
                rows.append(
                    ApkPackageRow(
                        name=f["P"],
                        version=f["V"],
                        arch=f.get("A", ""),
                        license=f.get("L", ""),
                        origin=f.get("o", ""),
                        container=scope.container,
                        image=scope.image,
                    )
                )
        return rows


class PythonPackageRow(Row, frozen=True, kw_only=True):
    """osquery python_packages."""

    name: str
    version: str
    summary: str
    author: str
    license: str
    path: str
    directory: str


def _inside(scope: Scope, path: Path) -> str:
    """`path` as the scope sees it (without the /proc/PID/root prefix)."""
    return "/" + str(path.relative_to(scope.root))


@table
class PythonPackages(InventoryTable):
    """Distributions installed in the system site directories (*.dist-info, *.egg-info)."""

    name = "python_packages"
    row = PythonPackageRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per distribution metadata directory."""
        rows: list[Row] = []
        parser = HeaderParser()
        for pattern in PYTHON_SITE_GLOBS:
            for site in sorted(scope.root.glob(pattern)):
                for meta_dir in sorted(site.glob("*.*-info")):
                    meta_file = meta_dir / "METADATA" if meta_dir.is_dir() else meta_dir
                    if meta_dir.is_dir() and not meta_file.exists():
                        meta_file = meta_dir / "PKG-INFO"
                    try:
                        meta = parser.parsestr(meta_file.read_text(errors="replace"))
                    except OSError:
                        continue
                    if not meta.get("Name"):
                        continue
                    rows.append(
                        PythonPackageRow(
                            name=str(meta["Name"]),
                            version=str(meta.get("Version", "")),
                            summary=str(meta.get("Summary", "")),
                            author=str(meta.get("Author", "")),
                            license=str(meta.get("License", ""))[:200],
                            path=_inside(scope, meta_dir),
                            directory=_inside(scope, site),
                            container=scope.container,
                            image=scope.image,
                        )
                    )
        return rows


class NpmPackageRow(Row, frozen=True, kw_only=True):
    """osquery npm_packages."""

    name: str
    version: str
    description: str
    author: str
    license: str
    path: str
    directory: str


def _manifests(root: Path) -> list[Path]:
    """package.json of each global package, scoped ones (@scope/name) included."""
    found: list[Path] = []
    for entry in sorted(root.glob("*")):
        if entry.name.startswith("@"):
            found += sorted(entry.glob("*/package.json"))
        elif (entry / "package.json").is_file():
            found.append(entry / "package.json")
    return found


def _text(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("name", "") or value.get("type", ""))
    return value if isinstance(value, str) else ""


@table
class NpmPackages(InventoryTable):
    """Globally installed npm packages (lib/node_modules)."""

    name = "npm_packages"
    row = NpmPackageRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row per global package.json."""
        rows: list[Row] = []
        for directory in NPM_GLOBAL_DIRS:
            for manifest_path in _manifests(scope.path(directory)):
                try:
                    manifest = json.loads(manifest_path.read_text())
                except (OSError, ValueError):
                    continue
                if not isinstance(manifest, dict) or not manifest.get("name"):
                    continue
                rows.append(
                    NpmPackageRow(
                        name=str(manifest["name"]),
                        version=str(manifest.get("version", "")),
                        description=_text(manifest.get("description")),
                        author=_text(manifest.get("author")),
                        license=_text(manifest.get("license")),
                        path=_inside(scope, manifest_path.parent),
                        directory=_inside(scope, scope.path(directory)),
                        container=scope.container,
                        image=scope.image,
                    )
                )
        return rows
