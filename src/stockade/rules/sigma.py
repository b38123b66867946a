"""Import of Sigma rules as Falco rules, compiled by the same engine as every other rule.

`load_sigma_rules(paths)` reads Sigma YAML with pySigma, keeps the log sources whose fields
map onto Falco's (categories process_creation, file_event, network_connection; service
auditd where the record fields map), turns each detection into a Falco condition (see
`sigma_condition`, `sigma_auditd`) and the rule metadata into a Falco rule item, and
compiles every generated rule with `load_rules`. A rule that cannot be expressed or does
not compile is refused with the reason; nothing is dropped silently.
The result feeds `load_rules(paths, sources=result.sources())`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from stockade.model.alerts import Priority
from stockade.rules.loader import load_rules
from stockade.rules.sigma_auditd import AuditdTranslator
from stockade.rules.sigma_condition import ConditionTranslator, SigmaUnsupportedError

_LEVELS = {
    "informational": Priority.INFORMATIONAL,
    "low": Priority.NOTICE,
    "medium": Priority.WARNING,
    "high": Priority.ERROR,
    "critical": Priority.CRITICAL,
}

_OUTPUT_FIELDS = {
    "process_creation": "",
    "file_event": " file=%fd.name",
    "network_connection": " connection=%fd.name",
    "auditd": " evt_type=%evt.type path=%fs.path.name",
}

_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")


@dataclass(frozen=True, slots=True)
class SigmaRuleImport:
    """One Sigma rule translated into a Falco rule."""

    path: Path
    sigma_id: str
    title: str
    name: str
    category: str
    condition: str
    priority: Priority
    tags: tuple[str, ...]
    description: str = ""

    @property
    def output(self) -> str:
        """The Falco output line: the Sigma title and id, then the event's context."""
        title = self.title.replace("%", "%%")
        return (
            f"Sigma rule matched: {title} (sigma id {self.sigma_id}) |"
            f"{_OUTPUT_FIELDS.get(self.category, '')} process=%proc.name"
            " exepath=%proc.exepath command=%proc.cmdline parent=%proc.pname"
            " user=%user.name container_id=%container.id container_name=%container.name"
        )

    def to_falco(self) -> dict[str, object]:
        """The Falco rule item (as loaded from YAML) for this rule."""
        return {
            "rule": self.name,
            "desc": self.description or self.title,
            "condition": self.condition,
            "output": self.output,
            "priority": self.priority.name,
            "tags": list(self.tags),
            "source": "syscall",
        }

    def falco_yaml(self) -> str:
        """This rule alone as Falco rule YAML text."""
        return falco_yaml([self])


@dataclass(frozen=True, slots=True)
class SigmaLoadResult:
    """The Sigma rules that were translated, and those refused with their reasons."""

    rules: tuple[SigmaRuleImport, ...] = ()
    refused: list[tuple[Path, str]] = field(default_factory=list)

    def falco_yaml(self) -> str:
        """Every translated rule as one Falco rules file."""
        return falco_yaml(self.rules)

    def sources(self, name: str = "sigma-rules.yaml") -> list[tuple[str, str]]:
        """Named YAML sources for `load_rules(..., sources=...)` (none when nothing loaded)."""
        return [(name, self.falco_yaml())] if self.rules else []


def falco_yaml(rules: Iterable[SigmaRuleImport]) -> str:
    """Falco rule YAML text for `rules`."""
    items = [r.to_falco() for r in rules]
    return yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=1000)


def sigma_tags(rule: SigmaRule) -> tuple[str, ...]:
    """Falco-style tags for a Sigma rule: MITRE technique ids, mitre_<tactic>, and the rest."""
    tags = ["sigma"]
    for tag in rule.tags:
        if tag.namespace == "attack" and _TECHNIQUE.fullmatch(tag.name):
            tags.append(tag.name.upper())
        elif tag.namespace == "attack":
            tags.append("mitre_" + tag.name.replace("-", "_"))
        else:
            tags.append(f"{tag.namespace}.{tag.name}")
    return tuple(dict.fromkeys(tags))


def translate_rule(rule: SigmaRule, path: Path, name: str) -> SigmaRuleImport:
    """Translate one parsed Sigma rule; raises SigmaUnsupportedError with the reason."""
    source = rule.logsource
    if source.product not in (None, "linux"):
        raise SigmaUnsupportedError(f"log source product {source.product!r} is not linux")
    translator: ConditionTranslator
    if source.category is None and source.service == "auditd":
        translator, category = AuditdTranslator(), "auditd"
    elif source.category is None:
        raise SigmaUnsupportedError(
            f"log source service {source.service!r} without a category is not supported; "
            "supported: categories file_event, network_connection, process_creation and "
            "service auditd"
        )
    else:
        translator, category = ConditionTranslator(source.category), source.category
    condition = translator.rule_condition([c.parsed for c in rule.detection.parsed_condition])
    level = rule.level.name.lower() if rule.level else "medium"
    return SigmaRuleImport(
        path=path,
        sigma_id=str(rule.id or ""),
        title=rule.title,
        name=name,
        category=category,
        condition=condition,
        priority=_LEVELS.get(level, Priority.WARNING),
        tags=sigma_tags(rule),
        description=(rule.description or "").strip(),
    )


def _rule_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            yield path


def _compile_error(rule: SigmaRuleImport) -> str | None:
    result = load_rules([], sources=[(str(rule.path), rule.falco_yaml())])
    problems = [str(e) for e in result.errors]
    return "; ".join(problems) if problems else None


def load_sigma_rules(paths: Sequence[Path], *, verify: bool = True) -> SigmaLoadResult:
    """Translate the Sigma rules in `paths` (files or directories) into Falco rules.

    With `verify`, each translated rule is compiled by the rule engine and refused if it
    does not compile, so every rule returned is known to load.
    """
    rules: list[SigmaRuleImport] = []
    refused: list[tuple[Path, str]] = []
    names: set[str] = set()
    for path in _rule_files(paths):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
        except (OSError, SigmaError, yaml.YAMLError) as e:
            refused.append((path, f"cannot read Sigma rule: {e}"))
            continue
        for sigma_rule in collection.rules:
            if not isinstance(sigma_rule, SigmaRule):
                refused.append((path, f"{type(sigma_rule).__name__} is not supported"))
                continue
            name = (
                sigma_rule.title
                if sigma_rule.title not in names
                else (f"{sigma_rule.title} ({sigma_rule.id})")
            )
            try:
                converted = translate_rule(sigma_rule, path, name)
            except (SigmaUnsupportedError, SigmaError) as e:
                refused.append((path, str(e)))
                continue
            problem = _compile_error(converted) if verify else None
            if problem:
                refused.append((path, f"generated condition does not compile: {problem}"))
                continue
            names.add(name)
            rules.append(converted)
    return SigmaLoadResult(rules=tuple(rules), refused=refused)
