"""The design map names every module: its module index matches the source tree exactly."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "stockade"
DESIGN = REPO / "docs" / "DESIGN.md"
INDEX_HEADING = "## Module index"
SKIPPED = {"__init__.py", "__main__.py"}


def modules_in_tree() -> set[str]:
    """Every module of the package as `package/dir/name.py` (or `.pyx`), relative to it."""
    found = set()
    for path in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyx")]:
        if path.name not in SKIPPED:
            found.add(path.relative_to(PACKAGE).as_posix())
    return found


def modules_in_index(text: str) -> set[str]:
    """The modules the index lists: `- `name`:` entries under `### `dir/`` headings."""
    index = text.split(INDEX_HEADING, 1)[1]
    listed, directory = set(), ""
    for line in index.splitlines():
        heading = re.match(r"### `([^`]*)/`", line)
        if heading:
            directory = "" if heading.group(1) == "stockade" else heading.group(1) + "/"
            continue
        entry = re.match(r"- `([^`]+\.pyx?)`", line)
        if entry:
            listed.add(directory + entry.group(1))
    return listed


def test_the_module_index_lists_every_module_and_no_other() -> None:
    text = DESIGN.read_text()
    assert INDEX_HEADING in text
    in_tree, in_index = modules_in_tree(), modules_in_index(text)
    assert not in_tree - in_index, f"modules missing from {DESIGN.name}'s index"
    assert not in_index - in_tree, f"{DESIGN.name}'s index names modules that do not exist"
