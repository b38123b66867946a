"""Lock files: their dependencies listed as declared (`from_lockfile`), never the project
itself, no duplicates; image scans list them only when asked."""

from __future__ import annotations

import json
from pathlib import Path

from stockade.model.inventory import Ecosystem, Package, ScanResult
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.output import write
from stockade.scan.scanner import scan_fs, scan_image
from tests.scan.imagebuild import LayerSpec, write_oci_layout
from tests.support.ci import require_file

PKG_ONLY = frozenset({Scanner.PKG})
D3_PPROF = Path(
    "/usr/share/go-1.19/src/cmd/vendor/github.com/google/pprof/third_party/d3flamegraph"
)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


PROJECT = {
    "package.json": _json({"name": "my-app", "version": "1.0.0", "dependencies": {"lodash": "^4"}}),
    "package-lock.json": _json(
        {
            "name": "my-app",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "my-app", "version": "1.0.0"},
                "node_modules/lodash": {"version": "4.17.21"},
                "node_modules/ms": {"version": "2.1.2"},
                "node_modules/debug": {"version": "4.3.4", "dev": True},
                "node_modules/lib": {"resolved": "packages/lib", "link": True},
                "packages/lib": {"name": "lib", "version": "0.1.0"},
            },
        }
    ),
    "node_modules/lodash/package.json": _json({"name": "lodash", "version": "4.17.21"}),
    "web/yarn.lock": (
        b'# yarn lockfile v1\n\n"minimist@^1.2.0", minimist@^1.2.5:\n  version "1.2.8"\n\n'
        b'ms@^2.1.1:\n  version "2.1.2"\n'
    ),
}


def _npm(result: ScanResult) -> set[tuple[str, str, str, bool]]:
    return {
        (p.name, p.version, p.path, p.from_lockfile)
        for p in result.packages
        if p.ecosystem is Ecosystem.NPM
    }


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_scan_fs_lists_lock_files_as_declared_and_never_the_project(tmp_path: Path) -> None:
    result = scan_fs(_write(tmp_path, PROJECT), ScanOptions(scanners=PKG_ONLY, cache_dir=None))
    assert _npm(result) == {
        ("lodash", "4.17.21", "node_modules/lodash/package.json", False),  # installed wins
        ("ms", "2.1.2", "package-lock.json", True),
        ("ms", "2.1.2", "web/yarn.lock", True),  # each lock file says it once
        ("minimist", "1.2.8", "web/yarn.lock", True),
    }


def test_image_scans_list_lock_files_only_when_asked(tmp_path: Path) -> None:
    layer = LayerSpec(files={f"app/{name}": content for name, content in PROJECT.items()})
    layout = write_oci_layout(tmp_path / "image", [layer])
    plain = scan_image(f"oci:{layout}", ScanOptions(scanners=PKG_ONLY, cache_dir=None))
    assert _npm(plain) == {
        ("my-app", "1.0.0", "app/package.json", False),  # the image's application, as Trivy
        ("lodash", "4.17.21", "app/node_modules/lodash/package.json", False),
    }
    asked = scan_image(
        f"oci:{layout}", ScanOptions(scanners=PKG_ONLY, cache_dir=None, lockfiles=True)
    )
    assert _npm(asked) - _npm(plain) == {
        ("ms", "2.1.2", "app/package-lock.json", True),
        ("ms", "2.1.2", "app/web/yarn.lock", True),
        ("minimist", "1.2.8", "app/web/yarn.lock", True),
    }


def test_a_real_vendored_project(tmp_path: Path) -> None:
    lock = require_file(D3_PPROF / "package-lock.json", "Go 1.19's vendored d3-flame-graph")
    manifest = json.loads((D3_PPROF / "package.json").read_text())
    result = scan_fs(D3_PPROF, ScanOptions(scanners=PKG_ONLY, cache_dir=None))
    npm: list[Package] = [p for p in result.packages if p.ecosystem is Ecosystem.NPM]
    assert npm and all(p.from_lockfile and p.path == lock.name for p in npm)
    assert manifest["name"] not in {p.name for p in npm}  # the project is no dependency
    assert len({(p.name, p.version) for p in npm}) == len(npm)  # no duplicates
    declared = json.loads(lock.read_text())["dependencies"]
    assert {p.name for p in npm} <= set(declared) | {
        name for entry in declared.values() for name in entry.get("dependencies", {})
    }


def test_cyclonedx_marks_lock_file_packages(tmp_path: Path) -> None:
    result = scan_fs(_write(tmp_path, PROJECT), ScanOptions(scanners=PKG_ONLY, cache_dir=None))
    bom = json.loads(write(result, "cyclonedx"))
    marked = {
        c["name"]
        for c in bom["components"]
        if {"name": "stockade:package:from_lockfile", "value": "true"} in c.get("properties", [])
    }
    assert marked == {"ms", "minimist"}
