"""Response policy files: YAML read, checked against the action registry, one-line errors.

policies:
  - name: kill-reverse-shells
    match: {rules: ["Reverse shell*"], min_priority: Critical}
    scope: {images: ["localhost/*"], labels: {tier: web}}
    actions: [kill_container]
    dry_run: false
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import msgspec

from stockade.model import Priority
from stockade.respond.base import RESPONSE_ACTIONS
from stockade.respond.errors import PolicyError
from stockade.respond.policy import ResponsePolicy


class PolicyFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A policy file's shape; `dry_run: true` at the top makes every policy in it dry-run."""

    policies: list[ResponsePolicy] = msgspec.field(default_factory=list)
    dry_run: bool = False


def parse_policies(text: str | bytes, where: str) -> list[ResponsePolicy]:
    """The policies in one file's text; PolicyError saying where it is wrong."""
    try:
        loaded = msgspec.yaml.decode(text or b"{}", type=PolicyFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise PolicyError(f"policy file {where}: {' '.join(str(e).split())}") from None
    policies = [
        msgspec.structs.replace(p, dry_run=True) if loaded.dry_run else p for p in loaded.policies
    ]
    _check(policies, where)
    return policies


def _check(policies: list[ResponsePolicy], where: str) -> None:
    names: set[str] = set()
    for i, policy in enumerate(policies):
        at = f"policy file {where}: `$.policies[{i}]` ({policy.name!r})"
        if not policy.name.strip():
            raise PolicyError(f"{at}: name is empty")
        if policy.name in names:
            raise PolicyError(f"{at}: name used twice; give each policy its own")
        names.add(policy.name)
        if not policy.actions:
            raise PolicyError(f"{at}: no actions")
        for action in policy.actions:
            if action not in RESPONSE_ACTIONS:
                raise PolicyError(f"{at}: {RESPONSE_ACTIONS.unknown(action)}")
        for address in policy.allow:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise PolicyError(
                    f"{at}: allow: {address!r} is not an IP address or CIDR"
                ) from None
        if policy.match.min_priority:
            try:
                Priority.parse(policy.match.min_priority)
            except ValueError as e:
                raise PolicyError(f"{at}: match.min_priority: {e}") from None


def load_policies(paths: tuple[Path, ...]) -> list[ResponsePolicy]:
    """The policies of every file, in order; PolicyError for a missing or malformed file."""
    found: list[ResponsePolicy] = []
    for path in paths:
        try:
            text = path.read_bytes()
        except OSError as e:
            raise PolicyError(f"cannot read policy file {path}: {e.strerror}") from e
        found += parse_policies(text, str(path))
    names = [p.name for p in found]
    if len(names) != len(set(names)):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise PolicyError(f"policy {twice[0]!r} is defined in more than one file")
    return found
