"""Maven POMs: coordinates, parent, licences and run-time dependencies of a pom.xml.

A POM without `<licenses>` inherits its parent's, as Maven's effective POM does; the
parent is found among the POMs of the same archive or of a Maven repository layout
(`repository/<group path>/<artifact>/<version>/<artifact>-<version>.pom`). Each POM's
licences and parent go into the scan's side table (`FileAnalysis.licenses`) under
`pom_key`/`parent_key`, and `inherited_licenses` walks the chain after all layers merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from xml.etree import ElementTree

from stockade.scan.licenses import spdx_or_name

MAX_PARENTS = 10  # a chain longer than Maven's own projects use is a loop
_NAMESPACE = re.compile(r"^\{[^}]*\}")
_PROPERTY = re.compile(r"\$\{([^}]+)\}")
_RUN_TIME_SCOPES = ("", "compile", "runtime")  # test, provided, system, import: not shipped


@dataclass(frozen=True, slots=True)
class Pom:
    """What a pom.xml says about its project."""

    group: str
    artifact: str
    version: str
    parent: str  # "group:artifact:version", "" without a parent
    licenses: tuple[str, ...]
    dependencies: tuple[str, ...]  # "group:artifact" of compile and runtime dependencies


def pom_key(gav: str) -> str:
    """The side-table key of a POM's licences: "maven-pom:group:artifact:version"."""
    return f"maven-pom:{gav}"


def parent_key(gav: str) -> str:
    """The side-table key of a POM's parent coordinates."""
    return f"maven-parent:{gav}"


def _children(element: ElementTree.Element | None, name: str) -> list[ElementTree.Element]:
    if element is None:
        return []
    return [child for child in element if _NAMESPACE.sub("", child.tag) == name]


def _text(element: ElementTree.Element | None, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else ""


def _resolve(value: str, properties: dict[str, str]) -> str:
    """`${project.groupId}`-style references replaced where the POM itself defines them."""
    return _PROPERTY.sub(lambda m: properties.get(m.group(1), m.group(0)), value)


def parse_pom(text: str) -> Pom | None:
    """The project a pom.xml describes; None when it is no POM. (ElementTree's expat, 2.4+,
    refuses entity expansion bombs and never fetches external entities.)"""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    if _NAMESPACE.sub("", root.tag) != "project":
        return None
    parents = _children(root, "parent")
    parent = parents[0] if parents else None
    group = _text(root, "groupId") or _text(parent, "groupId")
    version = _text(root, "version") or _text(parent, "version")
    properties = {f"project.{k}": v for k, v in (("groupId", group), ("version", version))}
    properties |= {f"pom.{k}": v for k, v in (("groupId", group), ("version", version))}
    properties["project.parent.version"] = _text(parent, "version")
    for block in _children(root, "properties"):
        properties |= {_NAMESPACE.sub("", p.tag): (p.text or "").strip() for p in block}
    parent_gav = ":".join(_text(parent, k) for k in ("groupId", "artifactId", "version"))
    licenses = []
    for block in _children(root, "licenses"):
        for entry in _children(block, "license"):
            name = unescape(_text(entry, "name"))
            if name and len(name) < 200:
                licenses.append(spdx_or_name(name))
    dependencies = []
    for block in _children(root, "dependencies"):
        for entry in _children(block, "dependency"):
            scope = _resolve(_text(entry, "scope"), properties)
            if scope not in _RUN_TIME_SCOPES or _text(entry, "optional") == "true":
                continue
            dep_group = _resolve(_text(entry, "groupId"), properties)
            artifact = _resolve(_text(entry, "artifactId"), properties)
            if dep_group and artifact:
                dependencies.append(f"{dep_group}:{artifact}")
    return Pom(
        group=_resolve(group, properties),
        artifact=_resolve(_text(root, "artifactId"), properties),
        version=_resolve(version, properties),
        parent=parent_gav if parent is not None and parent_gav.count(":") == 2 else "",
        licenses=tuple(dict.fromkeys(licenses)),
        dependencies=tuple(dict.fromkeys(dependencies)),
    )


def side_table(pom: Pom) -> dict[str, list[str]]:
    """The side-table entries of one POM: its licences and its parent."""
    gav = f"{pom.group}:{pom.artifact}:{pom.version}"
    entries = {pom_key(gav): list(pom.licenses)}
    if pom.parent:
        entries[parent_key(gav)] = [pom.parent]
    return entries


def repository_group(path: str, artifact: str, version: str, table: dict[str, list[str]]) -> str:
    """The groupId of `<group path>/<artifact>/<version>/<artifact>-<version>*.jar` when the
    scan starts at the repository's root (no `repository` part names where the group
    begins): the group whose POM lies beside the jar and whose path the jar's spells."""
    parts = path.split("/")
    if len(parts) < 4 or parts[-3:-1] != [artifact, version]:
        return ""
    above = parts[:-3]
    for start in range(len(above)):  # the longest group first
        group = ".".join(above[start:])
        if pom_key(f"{group}:{artifact}:{version}") in table:
            return group
    return ""


def inherited_licenses(gav: str, table: dict[str, list[str]]) -> tuple[str, ...]:
    """The licences of the nearest ancestor POM that declares some (none: ())."""
    seen = {gav}
    for _ in range(MAX_PARENTS):
        parents = table.get(parent_key(gav))
        if not parents or parents[0] in seen:
            return ()
        gav = parents[0]
        seen.add(gav)
        declared = table.get(pom_key(gav))
        if declared:
            return tuple(declared)
    return ()
