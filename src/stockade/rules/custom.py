"""Custom rule files kept by the platform: the bundle agents load beside their own rules.

A bundle is the platform's custom rule files (Falco rule language, loaded after the
defaults in name order, so they may append to and override them) plus single rules
switched on or off by users, each as an `override: {enabled: replace}` item of its own.
Pure: texts in, rulesets and load messages out; the platform and the agent both load a
bundle through `load_with_bundle`, the one compiler the agent runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import msgspec
import yaml

from stockade.rules.loader import load_rules
from stockade.rules.messages import LoadMessage
from stockade.rules.ruleset import Ruleset

Int64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # what the store's columns hold
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.ya?ml$")
FILE_NAME_HINT = (
    "use letters, digits, '_', '.', '-' (at most 100 characters) ending in .yaml or .yml"
)
TOGGLE_SOURCE = "toggle: "  # the source name of a switched rule's override item


class RuleFileText(msgspec.Struct, frozen=True):
    """One custom rule file: its name and YAML text."""

    name: str
    content: str


class RuleBundle(msgspec.Struct, frozen=True):
    """The custom rules at one revision: files in load order and rules switched on or off."""

    revision: int = 0
    sha256: str = ""
    files: list[RuleFileText] = []
    toggles: dict[str, bool] = {}
    unchanged: bool = False  # the agent's revision is still the newest: nothing else is sent


class RuleLoadReport(msgspec.Struct, frozen=True):
    """What an agent did with a bundle: loaded (no error) or kept its previous rules."""

    revision: Int64
    sha256: str
    error: str = ""
    rules: Int64 = 0  # rules enabled after the load


def bundle_hash(files: Sequence[RuleFileText], toggles: dict[str, bool]) -> str:
    """The sha256 of the files and switches, the same whichever side computes it."""
    body = msgspec.json.encode(
        {"files": [[f.name, f.content] for f in files], "toggles": sorted(toggles.items())}
    )
    return hashlib.sha256(body).hexdigest()


def toggle_source(rule: str, enabled: bool) -> tuple[str, str]:
    """The (name, YAML) of the override switching one rule on or off."""
    item = {"rule": rule, "enabled": enabled, "override": {"enabled": "replace"}}
    return TOGGLE_SOURCE + rule, yaml.safe_dump([item], sort_keys=False)


def bundle_sources(
    files: Sequence[RuleFileText], toggles: dict[str, bool]
) -> list[tuple[str, str]]:
    """The bundle as (name, YAML) sources: the files by name, then each switch."""
    sources = [(f.name, f.content) for f in sorted(files, key=lambda f: f.name)]
    return sources + [toggle_source(rule, on) for rule, on in sorted(toggles.items())]


def load_with_bundle(
    base: Sequence[Path | str], files: Sequence[RuleFileText], toggles: dict[str, bool]
) -> Ruleset:
    """The ruleset of the `base` rule files with the bundle loaded after them."""
    return load_rules(base, sources=bundle_sources(files, toggles))


def bundle_errors(ruleset: Ruleset, files: Sequence[RuleFileText]) -> list[LoadMessage]:
    """The load errors in the bundle's own sources (files and switches), in load order."""
    own = {f.name for f in files}
    return [e for e in ruleset.errors if e.file in own or e.file.startswith(TOGGLE_SOURCE)]


def check_file_name(name: str) -> str | None:
    """Why `name` cannot name a custom rule file, or None when it can."""
    if FILE_NAME.match(name):
        return None
    return f"rule file name {name!r}: {FILE_NAME_HINT}"
