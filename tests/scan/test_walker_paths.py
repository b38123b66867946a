"""safe_path: tar entry names normalised like posixpath.normpath, escapes refused; a host
root's pseudo filesystems left unwalked."""

from __future__ import annotations

import itertools
import os
import posixpath

import pytest

from stockade.scan.files import WalkLimits
from stockade.scan.walker import safe_path, subdirectories_of
from tests.support.ci import require


def normpath_reference(name: str) -> str | None:
    """The rule spelled out with normpath for every name."""
    while name.startswith("./"):
        name = name[2:]
    if name.startswith("/"):
        return None
    path = posixpath.normpath(name) if name else "."
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


NAMES = [
    prefix + "/".join(parts) + suffix
    for size in range(1, 5)
    for parts in itertools.product(["a", ".", "..", "", ".x", "x.", "..y"], repeat=size)
    for prefix in ("", "./", "/", ".//")
    for suffix in ("", "/")
]


def test_safe_path_matches_normpath_for_every_combination() -> None:
    assert [safe_path(n) for n in NAMES] == [normpath_reference(n) for n in NAMES]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("usr/bin/ls", "usr/bin/ls"),
        ("./etc/passwd", "etc/passwd"),
        ("etc//x/./y/", "etc/x/y"),
        ("a/../../b", None),
        ("/etc/shadow", None),
        (".bashrc", ".bashrc"),
        ("./", ""),
    ],
)
def test_safe_path_examples(name: str, expected: str | None) -> None:
    assert safe_path(name) == expected


def test_a_host_roots_pseudo_filesystems_are_not_entered() -> None:
    with os.scandir("/") as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    entered = subdirectories_of("", entries, WalkLimits())
    mounted = [name for name in ("proc", "sys") if os.path.ismount(f"/{name}")]
    require(bool(mounted), "/proc or /sys mounted")
    assert not set(mounted) & set(entered)
    assert "usr" in entered
