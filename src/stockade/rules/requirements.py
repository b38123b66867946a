"""required_engine_version and required_plugin_versions items."""

from __future__ import annotations

import re

from stockade.rules.collector import ItemError
from stockade.rules.messages import LoadMessage
from stockade.rules.reader import RawItem

ENGINE_VERSION = (0, 63, 0)
"""The Falco engine version whose rule language Stockade implements."""

BUILTIN_PLUGINS = {"container": (0, 6, 0)}
"""Plugins whose fields are built in (the container plugin's container.* and k8s.*)."""

_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:[-+].*)?")


def _semver(text: str) -> tuple[int, int, int] | None:
    m = _SEMVER.fullmatch(text.strip())
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _show(v: tuple[int, int, int]) -> str:
    return ".".join(map(str, v))


def check_engine_version(item: RawItem) -> None:
    """Refuse a file needing a newer engine than ENGINE_VERSION."""
    raw = item.data.get("required_engine_version")
    if raw is None or isinstance(raw, list | dict):
        raise ItemError("Can't decode YAML scalar value", "LOAD_ERR_YAML_VALIDATE")
    if str(raw).isdigit():
        wanted = (0, int(str(raw)), 0)
    else:
        parsed = _semver(str(raw))
        if parsed is None:
            raise ItemError(
                f"Unable to parse engine version '{raw}' as a semver string. "
                'Expected "x.y.z" semver format.',
                "LOAD_ERR_YAML_VALIDATE",
            )
        wanted = parsed
    if wanted[0] != ENGINE_VERSION[0] or wanted > ENGINE_VERSION:
        raise ItemError(
            f"Rules require engine version {_show(wanted)}, "
            f"but engine version is {_show(ENGINE_VERSION)}"
        )


def check_plugin_versions(item: RawItem, warnings: list[LoadMessage]) -> None:
    """Check plugin requirements against the built-in plugins; others only warn."""
    raw = item.data.get("required_plugin_versions")
    if not isinstance(raw, list):
        raise ItemError(
            "Value of required_plugin_versions must be a sequence", "LOAD_ERR_YAML_VALIDATE"
        )
    for entry in raw:
        if not isinstance(entry, dict):
            raise ItemError("Plugin version must be a mapping", "LOAD_ERR_YAML_VALIDATE")
        alternatives = [entry, *(entry.get("alternatives") or [])]
        satisfied = False
        for alt in alternatives:
            name, version = alt.get("name"), alt.get("version")
            if not name or version is None:
                raise ItemError(
                    "Item has no mapping for key 'name' or 'version'", "LOAD_ERR_YAML_VALIDATE"
                )
            wanted = _semver(str(version))
            if wanted is None:
                raise ItemError(f"Invalid required version '{version}' for plugin '{name}'")
            have = BUILTIN_PLUGINS.get(str(name))
            if have is not None and have[0] == wanted[0] and have >= wanted:
                satisfied = True
            elif have is not None:
                raise ItemError(
                    f"Plugin '{name}' version '{_show(have)}' is not compatible with "
                    f"required plugin version '{version}'"
                )
        if not satisfied:
            warnings.append(
                item.origin.message(
                    "LOAD_UNKNOWN_SOURCE",
                    f"Plugin '{entry.get('name')}' is not available in Stockade; "
                    "rules for its event source are skipped",
                )
            )
