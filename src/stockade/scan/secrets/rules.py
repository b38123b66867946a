"""Secret rules and allow rules: the built-in set plus a user config (YAML, Trivy's shape)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import msgspec

from stockade.model.inventory import Severity
from stockade.scan.errors import RuleError

BUILTIN_RULES = Path(__file__).with_name("builtin_rules.json")


class AllowRule(msgspec.Struct, frozen=True):
    """Suppresses matches in some paths, or matches whose text looks harmless."""

    id: str
    path_pattern: str | None = None  # both compiled on first use, as a rule's pattern
    regex_pattern: bytes | None = None
    description: str = ""

    @property
    def path(self) -> re.Pattern[str] | None:
        """The compiled path pattern (cached per process), if any."""
        return None if self.path_pattern is None else _compiled_str(self.path_pattern)

    @property
    def regex(self) -> re.Pattern[bytes] | None:
        """The compiled text pattern (cached per process), if any."""
        return None if self.regex_pattern is None else _compiled(self.regex_pattern)

    def allows_path(self, path: str) -> bool:
        """True when the file's path alone exempts it."""
        found = self.path
        return found is not None and bool(found.search(path))

    def allows_secret(self, secret: bytes) -> bool:
        """True when the matched text looks harmless (an example, a placeholder)."""
        found = self.regex
        return found is not None and bool(found.search(secret))


class SecretRule(msgspec.Struct, frozen=True):
    """One kind of secret: cheap keywords first, then a regex over bytes."""

    id: str
    category: str
    title: str
    severity: Severity
    pattern: bytes  # compiled on first use: most rules never meet their keywords
    keywords: tuple[bytes, ...]  # lower case
    secret_group: str = ""
    path_pattern: str | None = None
    allow_rules: tuple[AllowRule, ...] = ()
    multiline: bool = True  # False: a match lies on a keyword's line or the next one
    entropy: float = 0.0  # least bits per character of the secret (0: any)
    character_classes: int = 0  # least kinds of characters it mixes (lower, upper, digit, other)

    @property
    def regex(self) -> re.Pattern[bytes]:
        """The compiled pattern (cached per process)."""
        return _compiled(self.pattern)

    @property
    def path(self) -> re.Pattern[str] | None:
        """The compiled path pattern (cached per process), if any."""
        return None if self.path_pattern is None else _compiled_str(self.path_pattern)


@functools.cache
def _compiled(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern, re.MULTILINE)


@functools.cache
def _compiled_str(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class RuleSet(msgspec.Struct, frozen=True):
    """The rules and global allow rules in force for one scan."""

    rules: tuple[SecretRule, ...]
    allow_rules: tuple[AllowRule, ...]


def _path_text(pattern: object, where: str, check: bool) -> str | None:
    """A path pattern's text; compiled here only to check a user's (the built-ins are tested)."""
    if pattern is None:
        return None
    if check:
        try:
            re.compile(str(pattern))
        except re.error as e:
            raise RuleError(f"{where}: invalid path regex {pattern!r} ({e})") from e
    return str(pattern)


def _checked(pattern: object, where: str, check: bool = True) -> bytes:
    """A pattern's bytes; a user's broken regex fails at load time, with its rule id."""
    if check:
        try:
            re.compile(str(pattern).encode(), re.MULTILINE)
        except re.error as e:
            raise RuleError(f"{where}: invalid regex {pattern!r} ({e})") from e
    return str(pattern).encode()


def _allow_rule(raw: dict[str, Any], where: str, check: bool = True) -> AllowRule:
    rule_id = str(raw.get("id", ""))
    here = f"{where} allow rule {rule_id}"
    return AllowRule(
        id=rule_id,
        path_pattern=_path_text(raw.get("path"), here, check),
        regex_pattern=_checked(raw["regex"], here, check) if raw.get("regex") else None,
        description=str(raw.get("description", "")),
    )


def _severity(value: object, where: str) -> Severity:
    try:
        return Severity[str(value or "UNKNOWN").upper()]
    except KeyError:
        raise RuleError(f"{where}: unknown severity {value!r}") from None


def _rule(
    raw: dict[str, Any], where: str, multiline: bool = True, check: bool = True
) -> SecretRule:
    rule_id = raw.get("id")
    if not rule_id or not raw.get("regex"):
        raise RuleError(f"{where}: every rule needs an id and a regex (got {raw!r:.80})")
    here = f"{where} rule {rule_id}"
    keywords = tuple(str(k).lower().encode() for k in raw.get("keywords") or ())
    return SecretRule(
        id=str(rule_id),
        category=str(raw.get("category", "")),
        title=str(raw.get("title", rule_id)),
        severity=_severity(raw.get("severity"), here),
        pattern=_checked(raw["regex"], here, check),
        keywords=keywords,
        secret_group=str(raw.get("secret-group-name", "")),
        path_pattern=_path_text(raw.get("path"), here, check),
        allow_rules=tuple(_allow_rule(a, here, check) for a in raw.get("allow-rules") or ()),
        multiline=bool(raw.get("multiline", multiline)),
        entropy=_number(raw.get("entropy", 0), f"{here} entropy", 8.0),
        character_classes=int(_number(raw.get("character-classes", 0), f"{here} classes", 4)),
    )


def _number(value: object, where: str, most: float) -> float:
    """A rule's numeric setting, between 0 and `most`."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RuleError(f"{where}: expected a number, got {value!r}") from None
    if not 0 <= number <= most:
        raise RuleError(f"{where}: {number} is outside 0..{most}")
    return number


def _parse(text: str, where: str) -> dict[str, Any]:
    import yaml  # only a user config is YAML: a scan with the built-in rules never imports it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses ~10x faster
    try:
        data = yaml.load(text, Loader=loader) or {}
    except (yaml.YAMLError, RecursionError) as e:  # RecursionError: nested too deep
        raise RuleError(f"{where}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise RuleError(f"{where}: expected a mapping with `rules` and `allow-rules`")
    return data


@functools.cache
def builtin_rules() -> RuleSet:
    """The rules shipped with Stockade (`builtin_rules.json`, Trivy's keys; JSON so a scan
    parses it with msgspec, already loaded, rather than importing a YAML parser)."""
    data = msgspec.json.decode(BUILTIN_RULES.read_bytes(), type=dict[str, list[dict[str, Any]]])
    where = "built-in rules"
    return RuleSet(
        rules=tuple(_rule(r, where, multiline=False, check=False) for r in data["rules"]),
        allow_rules=tuple(_allow_rule(a, where, check=False) for a in data["allow-rules"]),
    )


def load_rules(config: Path | None) -> RuleSet:
    """Built-in rules adjusted by a user config (rules, allow-rules, enable/disable lists)."""
    base = builtin_rules()
    if config is None:
        return base
    where = str(config)
    try:
        data = _parse(config.read_text(), where)
    except OSError as e:
        raise RuleError(f"{where}: cannot read the secret config ({e.strerror})") from e
    rules = list(base.rules)
    enabled = set(data.get("enable-builtin-rules") or ())
    if enabled:
        rules = [r for r in rules if r.id in enabled]
    disabled = set(data.get("disable-rules") or ())
    rules = [r for r in rules if r.id not in disabled]
    rules += [_rule(r, where) for r in data.get("rules") or ()]
    disabled_allow = set(data.get("disable-allow-rules") or ())
    allow = [a for a in base.allow_rules if a.id not in disabled_allow]
    allow += [_allow_rule(a, where) for a in data.get("allow-rules") or ()]
    return RuleSet(rules=tuple(rules), allow_rules=tuple(allow))
