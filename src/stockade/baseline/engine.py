"""Running a policy on a target: each check's status, evidence, and the policy's score."""

from __future__ import annotations

from pathlib import Path

from stockade.baseline.model import Check, CheckResult, Condition, Policy, PolicyResult, Status
from stockade.baseline.probes import Target, evaluate


def os_release(target: Target) -> dict[str, str]:
    """The target's /etc/os-release (or /usr/lib/os-release) as a dict."""
    for inner in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(target.path(inner)).read_text()
        except OSError:
            continue
        pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
        return {k.strip(): v.strip().strip('"') for k, v in pairs}
    return {}


def applies(policy: Policy, release: dict[str, str]) -> bool:
    """True when every `applies_to` field of the policy matches the target's os-release."""
    return all(release.get(key) in values for key, values in policy.applies_to.items())


def run_check(check: Check, target: Target) -> tuple[Status, str]:
    """One check's status and evidence (the deciding tests' evidence, joined)."""
    for test in check.requires:
        outcome, why = evaluate(test, target)
        if not outcome:
            return Status.NOT_APPLICABLE, f"requirement not met: {why}"
    outcomes = [evaluate(test, target) for test in check.tests]
    unknown = [why for ok, why in outcomes if ok is None]
    if unknown:
        return Status.NOT_APPLICABLE, "; ".join(unknown)
    oks = [bool(ok) for ok, _ in outcomes]
    passed = {
        Condition.ALL: all(oks),
        Condition.ANY: any(oks),
        Condition.NONE: not any(oks),
    }[check.condition]
    return (Status.PASS if passed else Status.FAIL), "; ".join(why for _, why in outcomes)


def run_policy(policy: Policy, target: Target) -> PolicyResult:
    """Every check of `policy` on `target` (all not applicable when the OS does not match)."""
    release = os_release(target)
    fits = applies(policy, release)
    results = []
    for check in policy.checks:
        if fits:
            status, evidence = run_check(check, target)
        else:
            status = Status.NOT_APPLICABLE
            name = release.get("PRETTY_NAME", "unknown")
            evidence = f"policy applies to {policy.applies_to}, target is {name}"
        results.append(
            CheckResult(
                policy_id=policy.id,
                check_id=check.id,
                title=check.title,
                status=status,
                evidence=evidence,
                remediation=check.remediation,
                compliance=check.compliance,
            )
        )
    return PolicyResult(policy.id, policy.name, tuple(results))
