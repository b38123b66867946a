"""Evaluate the misconfiguration checks: data from checks.yaml, predicates from here."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgspec
import yaml

from stockade.model.inventory import Finding, Severity
from stockade.registry import Registry
from stockade.scan.errors import RuleError
from stockade.scan.misconfig.dockerfile import Instruction
from stockade.scan.misconfig.predicates import DOCKERFILE_TESTS, IMAGE_TESTS, Hit, ImageFacts

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses ~10x faster


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One check as data."""

    id: str
    target: str  # dockerfile | image
    test: str
    title: str
    severity: str
    description: str = ""
    remediation: str = ""
    params: dict[str, str] = msgspec.field(default_factory=dict)


class CheckFile(msgspec.Struct, frozen=True):
    """The checks.yaml document."""

    checks: list[Check]


@dataclass(frozen=True, slots=True)
class MisconfigEngine:
    """Runs the checks of one target kind against facts."""

    checks: tuple[Check, ...]

    def dockerfile(self, path: str, instructions: list[Instruction]) -> list[Finding]:
        """Findings for one Dockerfile."""
        return self._run("dockerfile", DOCKERFILE_TESTS, instructions, path)

    def image(self, facts: ImageFacts, target: str) -> list[Finding]:
        """Findings for an image config and history."""
        return self._run("image", IMAGE_TESTS, facts, target)

    def _run(self, kind: str, tests: Registry[Any], facts: Any, path: str) -> list[Finding]:
        findings: list[Finding] = []
        for check in self.checks:
            if check.target != kind:
                continue
            hits: list[Hit] = tests.get(check.test)(facts, check.params)
            findings.extend(_finding(check, hit, path) for hit in hits)
        return findings


def _finding(check: Check, hit: Hit, path: str) -> Finding:
    return Finding(
        kind="misconfiguration",
        id=check.id,
        severity=Severity[check.severity],
        title=check.title,
        description=hit.message or check.description,
        target=path,
        path=path,
        line=hit.line,
        remediation=check.remediation,
    )


@functools.cache
def load_checks(text: str | None = None, where: str = "checks.yaml") -> MisconfigEngine:
    """The engine with the built-in checks (or those in `text`), validated."""
    if text is None:
        text = resources.files(__package__).joinpath("checks.yaml").read_text()
    try:
        document = msgspec.convert(yaml.load(text, Loader=SafeLoader), CheckFile)
    except (yaml.YAMLError, msgspec.ValidationError, RecursionError) as e:
        raise RuleError(f"{where}: invalid checks ({e})") from e
    for check in document.checks:
        tests = DOCKERFILE_TESTS if check.target == "dockerfile" else IMAGE_TESTS
        if check.target not in ("dockerfile", "image") or check.test not in tests:
            raise RuleError(
                f"{where}: check {check.id}: unknown target/test {check.target}/{check.test}"
            )
        if check.severity not in Severity.__members__:
            raise RuleError(f"{where}: check {check.id}: unknown severity {check.severity}")
    return MisconfigEngine(tuple(document.checks))
