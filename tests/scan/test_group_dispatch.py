"""Analyzers that declare the file names they read are asked about those files only: the
declaration never hides a file their `required` would take."""

from __future__ import annotations

import os
from pathlib import Path

from stockade.scan.analyzers import ANALYZERS, AnalyzerOptions
from stockade.scan.files import FileInfo
from stockade.scan.group import AnalyzerGroup
from stockade.scan.options import Scanner, ScanOptions

WANTED_PATHS = (
    "lib/apk/db/installed",
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/base",
    "usr/share/doc/bash/copyright",
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "etc/alpine-release",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
    "usr/lib/python3/dist-packages/foo-1.0.egg-info/PKG-INFO",
    "usr/lib/python3/dist-packages/bar-2.0.egg-info",
    "app/node_modules/lodash/package.json",
    "app/package.json",
    "app/package-lock.json",
    "app/yarn.lock",
    "opt/lib/commons-lang3-3.12.0.jar",
    "srv/app.war",
    "root/.m2/repository/org/apache/commons/commons-parent/52/commons-parent-52.pom",
    "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
)

# paths where a directory alone rules files in or out for analyzers declaring no names
DIRECTORY_PATHS = (
    "app/node_modules/esbuild/bin/esbuild",
    "node_modules/pkg/.env",
    "node_modules2/.env",
    "x/node_modulesy/.env",
    ".git/config",
    "src/.git/hooks/pre-commit",
    "src/.github/token.env",
    "usr/share/tool/bin",
    "usr/sharedtool/bin",
    "usr/share",
    "var/lib/dpkg/status.d/base/extra",
    "var/lib/dpkg/statusx",
    "var/lib/dpkg/status.d",
    "top.env",
)


def _real_paths() -> list[str]:
    """The files of this Python's standard library (with its site-packages), relative."""
    stdlib = Path(os.__file__).parent
    return [str(p.relative_to("/")) for p in stdlib.rglob("*") if p.is_file()][:50_000]


def test_declared_names_cover_every_file_an_analyzer_takes() -> None:
    options = AnalyzerOptions(lockfiles=True)
    paths = [*WANTED_PATHS, *_real_paths()]
    declaring = [
        cls(options) for _, cls in ANALYZERS.items() if cls.file_names or cls.file_suffixes
    ]
    assert len(declaring) >= 8
    for analyzer in declaring:
        taken = 0
        for path in paths:
            info = FileInfo(path=path, size=4096, mode=0o644)
            if analyzer.required(info):
                taken += 1
                name = info.name
                assert name in analyzer.file_names or name.endswith(analyzer.file_suffixes), (
                    analyzer.id,
                    path,
                )
        assert taken, f"{analyzer.id} took none of the sample paths"


def test_the_group_selects_as_asking_every_analyzer_does() -> None:
    options = ScanOptions(scanners=frozenset({Scanner.PKG, Scanner.SECRET}), cache_dir=None)
    group = AnalyzerGroup.build(options, tree=True)
    for path in [*WANTED_PATHS, *DIRECTORY_PATHS, *_real_paths()[:10_000]]:
        for mode in (0o644, 0o755):
            info = FileInfo(path=path, size=4096, mode=mode)
            chosen = group.select(info)
            asked = [a for a in group.analyzers if a.required(info)]
            assert (list(chosen.whole) if chosen else []) == asked, path


def test_a_directory_an_analyzer_rules_out_holds_no_file_it_would_take() -> None:
    options = AnalyzerOptions(lockfiles=True)
    general = [
        cls(options)
        for _, cls in ANALYZERS.items()
        if not cls.file_names and not cls.file_suffixes and cls.enabled(options)
    ]
    assert {"dpkg", "gobinary", "secret"} <= {a.id for a in general}
    ruled_out = 0
    for path in [*WANTED_PATHS, *DIRECTORY_PATHS, *_real_paths()]:
        rel_dir = path.rpartition("/")[0]
        for analyzer in general:
            if analyzer.wants_files_in(rel_dir):
                continue
            ruled_out += 1
            for mode in (0o644, 0o755):
                info = FileInfo(path=path, size=4096, mode=mode)
                assert not analyzer.required(info), (analyzer.id, path)
    assert ruled_out
