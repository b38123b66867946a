"""Who a Java archive is (groupId, artifactId, version): pom.properties, manifest, file name.

Pure functions over texts and names; `jar.py` reads the archive. The order follows
Trivy's offline conventions with two differences: `Implementation-Title` is a human
title ("A high performance caching library"), never an artifact id, and every version is
validated (`5.13.0 (b0)` is not one), falling back to the next source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stockade.scan.analyzers.jar_group import manifest_group

# commons-lang3-3.12.0.jar, spring-core-5.3.4-SNAPSHOT.jar, jna-5.13.0-jpms.jar
_FILE_NAME = re.compile(r"^([A-Za-z0-9._-]*[A-Za-z0-9_.])-(\d[^\s/]*?)\.(?:jar|war|ear|par)$")
_VERSION = re.compile(r"^\d[0-9A-Za-z._+~-]*$")
_GROUP = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+$")
# where Maven-layout repositories start: ~/.m2/repository, Debian's /usr/share/maven-repo
_REPOSITORY_ROOTS = ("repository", "maven-repo", "maven2")
# set by a parent POM for every project under it: names no project's group
_PARENT_VENDOR_IDS = frozenset({"org.apache"})
POM_PROPERTIES = "pom.properties"  # group_source values besides manifest attribute names
REPOSITORY_PATH = "repository-path"
REPOSITORY_POM = "repository-pom"  # the POM beside the jar (scan/applier.py)


@dataclass(frozen=True, slots=True)
class Coordinates:
    """Maven coordinates; `group` may be empty when nothing names it."""

    group: str
    artifact: str
    version: str
    group_source: str = ""  # where the group was read: POM_PROPERTIES, REPOSITORY_PATH,
    # a manifest attribute's name or jar_group.CLASS_PACKAGE

    @property
    def name(self) -> str:
        """`group:artifact`, as Maven advisories name packages (the artifact alone if no group)."""
        return f"{self.group}:{self.artifact}" if self.group else self.artifact


def valid_version(version: str) -> bool:
    """True for a version Maven could have published: starts with a digit, no spaces."""
    return bool(_VERSION.match(version))


def pom_properties(text: str, entry: str) -> Coordinates | None:
    """Coordinates of a META-INF/maven/<g>/<a>/pom.properties; groupId from its directory."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith(("#", "!")):
            fields[key.strip()] = value.strip()
    parts = entry.split("/")
    group = fields.get("groupId") or (parts[-3] if len(parts) >= 5 else "")
    artifact, version = fields.get("artifactId", ""), fields.get("version", "")
    if not artifact or not valid_version(version):
        return None
    return Coordinates(group, artifact, version, POM_PROPERTIES if group else "")


def manifest_main_section(text: str) -> dict[str, str]:
    """Attributes of a MANIFEST.MF main section, continuation lines (" ...") joined."""
    fields: dict[str, str] = {}
    current = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith(" "):
            current += line[1:]
            continue
        _add_attribute(fields, current)
        if not line:
            return fields  # the main section ends at the first empty line
        current = line
    _add_attribute(fields, current)
    return fields


def _add_attribute(fields: dict[str, str], line: str) -> None:
    key, sep, value = line.partition(":")
    value = value.strip()
    if sep and value and not value.startswith("%"):  # %name: a localized placeholder
        fields[key.strip()] = value


def file_name_coordinates(file_name: str, hints: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(artifactId, version) from a name like `commons-lang3-3.12.0.jar`; a version the
    archive states elsewhere (`hints`) settles names like `zstd-jni-1.5.5-11.jar`."""
    stem = file_name.rpartition(".")[0]
    for version in hints:
        if valid_version(version) and stem.endswith("-" + version) and len(stem) > len(version) + 1:
            return stem[: -len(version) - 1], version
    match = _FILE_NAME.match(file_name)
    if match is None or not valid_version(match.group(2)):
        return None
    return match.group(1), match.group(2)


def repository_coordinates(path: str) -> Coordinates | None:
    """Coordinates a Maven-layout path gives (`<root>/<g...>/<a>/<v>/<a>-<v>[-classifier].jar`);
    the group only below a known repository root (`repository`, `maven-repo`)."""
    parts = path.split("/")
    if len(parts) < 3:
        return None
    artifact, version, file_name = parts[-3], parts[-2], parts[-1]
    if not valid_version(version) or not file_name.startswith(f"{artifact}-{version}"):
        return None
    group = ""
    for index in range(len(parts) - 4, -1, -1):
        if parts[index] in _REPOSITORY_ROOTS:
            group = ".".join(parts[index + 1 : -3])
            break
    return Coordinates(group, artifact, version, REPOSITORY_PATH if group else "")


def _symbolic_name(fields: dict[str, str]) -> str:
    return fields.get("Bundle-SymbolicName", "").split(";")[0].strip()


def _group_from_symbolic_name(symbolic: str, artifact: str) -> str:
    """`com.fasterxml.jackson.core.jackson-databind` -> `com.fasterxml.jackson.core`.

    Only this `<group>.<artifact>` spelling, with a Maven-style artifact: on a real
    repository every other reading of symbolic and module names (`com.sun.jna` for
    net.java.dev.jna:jna) named the wrong group more often than the right one.
    """
    if "-" not in artifact or not symbolic.endswith("." + artifact):
        return ""
    prefix = symbolic[: -len(artifact) - 1]
    return prefix if _GROUP.match(prefix) else ""


def _artifact_from_symbolic_name(symbolic: str) -> str:
    """`com.fasterxml.jackson.core.jackson-databind` -> `jackson-databind` (a last part
    spelled like a Maven artifact); other symbolic names (`org.eclipse.osgi`) stay whole."""
    last = symbolic.rpartition(".")[2]
    return last if "-" in last else symbolic


def manifest_coordinates(fields: dict[str, str], path: str) -> Coordinates | None:
    """The archive's own coordinates from its repository path, manifest and file name."""
    stated = (fields.get("Implementation-Version", ""), fields.get("Bundle-Version", ""))
    symbolic = _symbolic_name(fields)
    from_path = repository_coordinates(path)
    if from_path is not None:
        artifact, version = from_path.artifact, from_path.version
    else:
        from_name = file_name_coordinates(path.rsplit("/", 1)[-1], stated)
        artifact = from_name[0] if from_name else _artifact_from_symbolic_name(symbolic)
        candidates = (stated[0], from_name[1] if from_name else "", stated[1])
        version = next((v for v in candidates if valid_version(v)), "")
    if not artifact or not version:
        return None
    if from_path is not None and from_path.group:
        return from_path
    group, source = _stated_group(fields, symbolic, artifact)
    return Coordinates(group, artifact, version, source)


def _stated_group(fields: dict[str, str], symbolic: str, artifact: str) -> tuple[str, str]:
    """(groupId, where from) the manifest states: the precise readings first, then Syft's
    wider ones (`jar_group.py`)."""
    vendor_id = fields.get("Implementation-Vendor-Id", "")
    if _GROUP.match(vendor_id) and vendor_id not in _PARENT_VENDOR_IDS:
        return vendor_id, "Implementation-Vendor-Id"
    for attribute, name in (
        ("Bundle-SymbolicName", symbolic),
        ("Automatic-Module-Name", fields.get("Automatic-Module-Name", "")),
    ):
        if group := _group_from_symbolic_name(name, artifact):
            return group, attribute
    return manifest_group(fields, artifact)
