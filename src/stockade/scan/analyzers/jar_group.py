"""A jar's groupId when neither pom.properties nor a repository path names it.

Syft's convention, in our own words: manifest attributes that often hold a reverse domain
name, in order, then the package most of the archive's classes sit under. A value counts
only when it reads as a reverse domain (`org.apache.geronimo.specs`: two or more
identifier labels, the first a top-level domain), so vendor names ("The Apache Software
Foundation"), single words and Java's own namespaces (`javax.inject`) are never used.
Each result says where it came from; the package keeps that (`Package.group_source`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_LABEL = r"[A-Za-z_][A-Za-z0-9_-]*"
_DOTTED = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
# top-level domains Maven groupIds start with in practice (Syft: com, org, net, io, be)
TOP_LEVEL_DOMAINS = frozenset(
    ("com", "org", "net", "io", "be", "edu", "gov", "mil", "biz", "info", "dev", "app")
    + ("ai", "co", "me", "tech", "eu", "de", "uk", "fr", "ch", "nl", "at", "se", "no")
    + ("dk", "fi", "it", "es", "pl", "cz", "ru", "ca", "us", "jp", "cn", "kr", "au", "br", "in")
)
_ARTIFACT_LABEL = re.compile(r"^\d|_")  # `3_spec`, `geronimo-annotation_1`: no domain label
# a parent POM's vendor id, set for every project under it: names no project's group
_PARENT_VENDOR_IDS = frozenset({"org.apache"})
MAX_CLASS_PACKAGE_LABELS = 4  # `org.apache.maven.wagon`, not `...wagon.providers.http`
CLASS_PACKAGE = "class-package"  # the group_source of a group read from the classes' paths


def reverse_domain(value: str) -> bool:
    """True for a dotted name whose first label is a top-level domain (`com.google.inject`)."""
    return bool(_DOTTED.match(value)) and value.split(".", 1)[0].lower() in TOP_LEVEL_DOMAINS


def _clean(value: str) -> str:
    """The name alone: OSGi directives (`;singleton:=true`) and spaces dropped."""
    return value.split(";", 1)[0].strip()


def _vendor_id(value: str, _artifact: str) -> str:
    return value if value not in _PARENT_VENDOR_IDS else ""


def _module_name(value: str, artifact: str) -> str:
    """The group a symbolic or module name gives: `<group>.<my-artifact>` -> group; the labels
    before one spelled like an artifact or version (`org.apache.geronimo.specs` of
    `...specs.geronimo-annotation_1.3_spec`, `com.example` of `com.example.my-lib`); a name
    that is the artifact itself -> its parent; any other name whole (Syft's reading:
    `com.github.ben-manes.caffeine`)."""
    if "-" in artifact and value.endswith("." + artifact):  # one word (`caffeine`): often
        return value[: -len(artifact) - 1]  # the group's own last label too
    labels = value.split(".")
    cut = next((i for i, label in enumerate(labels) if _ARTIFACT_LABEL.search(label)), None)
    if cut is None and "-" in labels[-1]:
        cut = len(labels) - 1
    if cut is not None:
        return ".".join(labels[:cut])
    return ".".join(labels[:-1]) if value == artifact else value


def _as_is(value: str, _artifact: str) -> str:
    return value


# (attribute, how its value gives a group), in the order they are tried
MANIFEST_SOURCES: tuple[tuple[str, Callable[[str, str], str]], ...] = (
    ("Implementation-Vendor-Id", _vendor_id),
    ("Bundle-SymbolicName", _module_name),
    ("Automatic-Module-Name", _module_name),
    ("Extension-Name", _module_name),
    ("Specification-Vendor", _as_is),
    ("Implementation-Vendor", _as_is),
)


def manifest_group(fields: dict[str, str], artifact: str) -> tuple[str, str]:
    """(groupId, the attribute it came from) from a manifest's main section, or ("", "")."""
    for attribute, derive in MANIFEST_SOURCES:
        value = _clean(fields.get(attribute, ""))
        if value.split(".", 1)[0].lower() not in TOP_LEVEL_DOMAINS:
            continue
        group = derive(value, artifact)
        if reverse_domain(group):
            return group, attribute
    return "", ""


def class_package_group(class_names: Iterable[str]) -> str:
    """The package all of an archive's classes share (at most four labels), when it reads
    as a reverse domain; else "". Multi-release copies and module-info are left out."""
    common: list[str] | None = None
    for name in class_names:
        if name.startswith("META-INF/") or not name.endswith(".class"):
            continue
        package = name.split("/")[:-1]
        if not package:
            continue  # module-info.class, or a class in the default package
        if common is None:
            common = package[:MAX_CLASS_PACKAGE_LABELS]
            continue
        shared = 0
        while shared < len(common) and shared < len(package) and common[shared] == package[shared]:
            shared += 1
        del common[shared:]
        if len(common) < 2:
            return ""
    group = ".".join(common or ())
    return group if reverse_domain(group) else ""
