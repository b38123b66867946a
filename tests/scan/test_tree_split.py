"""A directory scan cut into units for two processes finds exactly what one walk finds,
in the same order: packages, secrets, warnings (files over a limit, nested archives left
unread)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import msgspec
import pytest

from stockade.scan import tree_split
from stockade.scan.group import AnalyzerGroup
from stockade.scan.layers import LayerResult, analyze_tree
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.walker import BYTES_PER_ENTRY, list_tree_head

AWS_KEY = "AKIA" + "Z7VRSQ5TJN2XMPLE"


def record_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories os.scandir is asked for from now on, in order."""
    listed: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path: str) -> Any:
        listed.append(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    return listed


def _jar(depth: int) -> bytes:
    inner = b"Manifest-Version: 1.0\r\n"
    data = _zip({"META-INF/MANIFEST.MF": inner})
    for _ in range(depth):
        data = _zip({"lib/inner.jar": data})
    return data


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _tree(root: Path) -> None:
    for n in range(40):
        package = root / "app" / "node_modules" / f"pkg{n:02d}"
        package.mkdir(parents=True)
        (package / "package.json").write_text(f'{{"name": "pkg{n:02d}", "version": "1.0.{n}"}}')
        (package / "index.js").write_text("module.exports = 1;\n")
    for n in range(30):
        site = root / "lib" / f"py{n:02d}" / f"dist{n:02d}-2.0.dist-info"
        site.mkdir(parents=True)
        (site / "METADATA").write_text(f"Name: dist{n:02d}\nVersion: 2.0\n\n")
        (site.parent / "settings.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (root / "opt" / "deep").mkdir(parents=True)
    (root / "opt" / "deep" / "deep.jar").write_bytes(_jar(5))
    (root / "etc").mkdir()
    (root / "etc" / "big.env").write_bytes(b"x" * 2048)


def _scan(root: Path, split: bool, monkeypatch: pytest.MonkeyPatch) -> LayerResult:
    monkeypatch.setattr(tree_split, "may_fork", lambda: split)
    monkeypatch.setattr(tree_split, "TARGET_UNITS", 16)
    monkeypatch.setattr(tree_split, "SPLIT_MIN_ENTRIES", 0)  # split even this small tree
    options = ScanOptions(
        scanners=frozenset({Scanner.PKG, Scanner.SECRET}), cache_dir=None, max_file_size=1024
    )
    return analyze_tree(root, AnalyzerGroup.build(options, tree=True))


def test_two_processes_find_what_one_walk_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    one = _scan(tmp_path, split=False, monkeypatch=monkeypatch)
    two = _scan(tmp_path, split=True, monkeypatch=monkeypatch)
    assert msgspec.msgpack.encode(two) == msgspec.msgpack.encode(one)
    packages = [p for f in one.files.values() for p in f.packages]
    assert len(packages) >= 70
    assert sum(len(f.findings) for f in one.files.values()) == 30
    assert any("nested deeper than" in w for w in one.warnings)
    assert any("big.env" in w for w in one.warnings)


def test_a_small_tree_is_walked_once_in_this_process_from_the_listings_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    one = _scan(tmp_path, split=False, monkeypatch=monkeypatch)
    monkeypatch.setattr(tree_split, "SPLIT_MIN_ENTRIES", 10_000)
    monkeypatch.setattr(tree_split, "may_fork", lambda: True)

    def no_split(*args: object) -> None:
        raise AssertionError("a small tree was split")

    monkeypatch.setattr(tree_split, "analyze_units", no_split)
    listed = record_listings(monkeypatch)
    group = AnalyzerGroup.build(
        ScanOptions(
            scanners=frozenset({Scanner.PKG, Scanner.SECRET}), cache_dir=None, max_file_size=1024
        ),
        tree=True,
    )
    small = analyze_tree(tmp_path, group)
    assert msgspec.msgpack.encode(small) == msgspec.msgpack.encode(one)
    assert len(listed) == len(set(listed))  # each directory listed once


def test_a_tree_over_the_size_estimate_is_listed_only_at_its_top(tmp_path: Path) -> None:
    _tree(tmp_path)
    group = AnalyzerGroup.build(ScanOptions(cache_dir=None), tree=True)
    listings, whole = list_tree_head(tmp_path, group.limits, 50, group.declared_names())
    assert not whole
    assert {"", "app", "lib"} <= set(listings)  # breadth first: the top levels
    assert "app/node_modules/pkg00" not in listings
    listings, whole = list_tree_head(tmp_path, group.limits, 10_000, group.declared_names())
    assert whole
    assert {"", "app/node_modules/pkg00", "opt/deep"} <= set(listings)
    entries = sum(len(listing) for listing in listings.values())  # no file weighs more yet
    jar = tmp_path / "opt" / "deep" / "big.jar"  # picked by name: weighs by its size
    jar.write_bytes(b"\0" * 40 * BYTES_PER_ENTRY)
    assert list_tree_head(tmp_path, group.limits, entries + 42, group.declared_names())[1]
    jar.write_bytes(b"\0" * 400 * BYTES_PER_ENTRY)
    assert not list_tree_head(tmp_path, group.limits, entries + 42, group.declared_names())[1]


def test_units_follow_the_walk_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a/x", "a/y", "b", "c/z"):
        (tmp_path / name).mkdir(parents=True)
    monkeypatch.setattr(tree_split, "TARGET_UNITS", 100)
    group = AnalyzerGroup.build(ScanOptions(cache_dir=None), tree=True)
    units = tree_split.units_of(tmp_path, group, {})
    assert [(u.rel_dir, u.subtree) for u in units] == [
        ("", False),
        ("c", False),
        ("c/z", False),
        ("b", False),
        ("a", False),
        ("a/y", False),
        ("a/x", False),
    ]


def test_a_listed_subtree_with_many_subdirectories_is_cut_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(tree_split.MANY_SUBDIRS):
        (tmp_path / "@scope" / f"pkg{n}").mkdir(parents=True)
    (tmp_path / "few" / "one").mkdir(parents=True)
    monkeypatch.setattr(tree_split, "TARGET_UNITS", 2)  # the root's cut alone reaches it
    group = AnalyzerGroup.build(ScanOptions(cache_dir=None), tree=True)
    listings, whole = list_tree_head(tmp_path, group.limits, 10_000, group.declared_names())
    assert whole
    units = tree_split.units_of(tmp_path, group, listings)
    last = f"@scope/pkg{tree_split.MANY_SUBDIRS - 1}"
    assert [(u.rel_dir, u.subtree) for u in units][:4] == [
        ("", False),
        ("few", True),  # listed too, but with one subdirectory: left whole
        ("@scope", False),
        (last, True),
    ]
    assert len(units) == 3 + tree_split.MANY_SUBDIRS


def test_a_large_tree_is_split_from_the_listings_of_its_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    one = _scan(tmp_path, split=False, monkeypatch=monkeypatch)
    monkeypatch.setattr(tree_split, "SPLIT_MIN_ENTRIES", 100)  # listed in part, then split
    monkeypatch.setattr(tree_split, "may_fork", lambda: True)
    split: list[int] = []
    real_analyze_units = tree_split.analyze_units

    def counting_analyze_units(*args: Any) -> list[tree_split.UnitResult]:
        split.append(len(args[2]))
        return real_analyze_units(*args)

    monkeypatch.setattr(tree_split, "analyze_units", counting_analyze_units)
    listed = record_listings(monkeypatch)
    options = ScanOptions(
        scanners=frozenset({Scanner.PKG, Scanner.SECRET}), cache_dir=None, max_file_size=1024
    )
    two = analyze_tree(tmp_path, AnalyzerGroup.build(options, tree=True))
    assert msgspec.msgpack.encode(two) == msgspec.msgpack.encode(one)
    assert split and split[0] > 1
    # this process listed each directory at most once (the estimate, the cut and its own
    # units) and never the worker's units again; how many units the worker took depends on
    # when it was scheduled (on a busy machine this process may take every ticket itself)
    assert len(listed) == len(set(listed))
    assert len(listed) <= sum(1 for p in tmp_path.rglob("*") if p.is_dir()) + 1


def test_a_ticket_may_hand_out_several_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    one = _scan(tmp_path, split=False, monkeypatch=monkeypatch)
    monkeypatch.setattr(tree_split, "MAX_TICKETS", 3)  # several units a ticket
    two = _scan(tmp_path, split=True, monkeypatch=monkeypatch)
    assert msgspec.msgpack.encode(two) == msgspec.msgpack.encode(one)
