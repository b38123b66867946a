"""`stockade db import`: read a directory, file, archive or URL of advisories into a VulnDB."""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from stockade.scan.vulndb.download import download
from stockade.scan.vulndb.formats import FormatError, VulnDBError, detect
from stockade.scan.vulndb.model import Advisory
from stockade.scan.vulndb.store import VulnDB

_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
# every scalar stays text: an unquoted version such as 1.10 must not turn into the float 1.1
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


# progress: (step, done, total); total 0 while unknown. Steps: download, unpack, read, store
ImportProgress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    del step, done, total


@dataclass
class ImportReport:
    """What one import read: files, advisories per format, what it skipped and why."""

    location: str
    files: int = 0
    advisories: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # "path: reason"


def parse_document(path: Path) -> Any:
    """The parsed content of one JSON or YAML file."""
    data = path.read_bytes()
    try:
        if _SUFFIXES.get(path.suffix.lower()) == "yaml":
            return yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 - builds only str/list/dict
        return msgspec.json.decode(data)
    except (yaml.YAMLError, msgspec.DecodeError) as e:
        raise FormatError(f"{path}: not valid {path.suffix[1:]}: {e}") from e
    except RecursionError as e:  # nested thousands deep: skipped like any malformed file
        raise FormatError(f"{path}: not valid {path.suffix[1:]}: nested too deeply") from e


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in _SUFFIXES and path.is_file():
            yield path


def read_advisories(
    root: Path, report: ImportReport, progress: ImportProgress = _quiet
) -> list[Advisory]:
    """Every advisory under `root` (a file or a directory tree), counted into `report`."""
    out: list[Advisory] = []
    paths = list(_files(root))
    for path in paths:
        progress("read", report.files, len(paths))
        report.files += 1
        try:
            doc = parse_document(path)
            fmt = detect(doc)
            if fmt is None:
                report.skipped.append(f"{path}: not a known advisory format")
                continue
            found = list(fmt.advisories(doc))
        except (FormatError, OSError) as e:
            report.skipped.append(f"{path}: {e}")
            continue
        report.formats[fmt.name] += len(found)
        out.extend(found)
    progress("read", report.files, len(paths))
    report.advisories = len(out)
    return out


def _unpack(archive: Path, into: Path) -> Path:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
        return into
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
        return into
    return archive


def import_location(db: VulnDB, location: str, progress: ImportProgress = _quiet) -> ImportReport:
    """Import a path (directory, JSON/YAML file, zip or tar) or an http(s) URL into `db`."""
    is_url = location.startswith(("http://", "https://"))
    key = location if is_url else str(Path(location).resolve())
    report = ImportReport(location=key)
    with tempfile.TemporaryDirectory(prefix="stockade-vulndb-") as tmp:
        if is_url:
            progress("download", 0, 0)
        root = download(location, Path(tmp)) if is_url else Path(location)
        if not root.exists():
            raise VulnDBError(f"nothing to import at {location}: no such file or directory")
        if root.is_file() and root.suffix.lower() not in _SUFFIXES:
            progress("unpack", 0, 0)
            root = _unpack(root, Path(tmp) / "unpacked")
        advisories = read_advisories(root, report, progress)
    if report.files == 0:
        raise VulnDBError(f"no JSON or YAML files found at {location}")
    if report.advisories == 0:
        first = f" (first: {report.skipped[0]})" if report.skipped else ""
        raise VulnDBError(
            f"no advisories in {location}: {report.files} JSON or YAML files, none of them "
            f"OSV, Debian tracker, Alpine secdb or Node.js security-wg advisories{first}"
        )
    progress("store", 0, report.advisories)
    db.replace_source(key, report.formats.keys(), advisories)
    progress("store", report.advisories, report.advisories)
    return report
