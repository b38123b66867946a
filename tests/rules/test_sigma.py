"""Sigma import: every Linux rule of the supported categories loads or is refused with a
reason, and every loaded rule fires, through the same engine as Falco rules, on an event
built from its own detection, and stays silent when that event misses one detail."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from stockade.model import Event, FdInfo, Priority, Process
from stockade.rules import load_rules
from stockade.rules.ruleset import Ruleset
from stockade.rules.sigma import SigmaLoadResult, SigmaRuleImport, load_sigma_rules
from stockade.rules.sigma_condition import quote
from tests.rules.sigma_samples import (
    NEUTRAL,
    field_values,
    sample_event,
    sample_terms,
)

CATEGORIES = ("process_creation", "file_event", "network_connection")
MAX_TERMS = 40


@pytest.fixture(scope="module")
def sigma_dirs(corpus: Path) -> list[Path]:
    return [corpus / "sigma" / "rules" / "linux" / c for c in CATEGORIES]


@pytest.fixture(scope="module")
def imported(sigma_dirs: list[Path]) -> SigmaLoadResult:
    return load_sigma_rules(sigma_dirs)


@pytest.fixture(scope="module")
def sigma_ruleset(imported: SigmaLoadResult) -> Ruleset:
    ruleset = load_rules([], sources=imported.sources())
    assert not ruleset.errors, "\n".join(str(e) for e in ruleset.errors)
    return ruleset


def _source_rule(rule: SigmaRuleImport) -> SigmaRule:
    collection = SigmaCollection.from_yaml(rule.path.read_text(encoding="utf-8"))
    return next(
        r for r in collection.rules if isinstance(r, SigmaRule) and str(r.id) == rule.sigma_id
    )


def test_every_rule_loads_or_is_refused_with_a_reason(
    sigma_dirs: list[Path], imported: SigmaLoadResult
) -> None:
    files = sorted(p for d in sigma_dirs for p in d.glob("*.yml"))
    loaded = {r.path for r in imported.rules}
    refused = {path for path, _ in imported.refused}
    print(f"sigma rules: {len(files)} files, {len(imported.rules)} loaded, {len(refused)} refused")
    for path, reason in imported.refused:
        print(f"refused {path.name}: {reason}")
    assert loaded | refused == set(files)
    assert not loaded & refused
    assert all(reason.strip() for _, reason in imported.refused)
    assert len(imported.rules) == 135
    assert len({r.name for r in imported.rules}) == len(imported.rules)


def test_destination_hostname_rules_load_on_fd_sip_name(
    imported: SigmaLoadResult, sigma_ruleset: Ruleset
) -> None:
    assert imported.refused == []
    hostname = [r for r in imported.rules if "fd.sip.name" in r.condition]
    assert len(hostname) == 3
    ngrok = next(r for r in hostname if r.sigma_id == "19bf6fdb-7721-4f3d-867f-53467f6a5db6")
    fd = FdInfo(num=3, type="ipv4", l4proto="tcp", sip="10.88.0.5", sport=40000)
    fd.dip, fd.dport, fd.sip_name = "203.0.113.10", 443, "tunnel.eu.ngrok.com"
    proc = Process(pid=7, name="curl", exepath="/usr/bin/curl", argv=("curl", "x"))
    event = Event(type="connect", ts=1, proc=proc, fd=fd)
    assert ngrok.name in {r.name for r in sigma_ruleset.matches(event)}
    fd.sip_name = "www.example.com"
    assert ngrok.name not in {r.name for r in sigma_ruleset.matches(event)}


def test_rule_metadata_carries_id_title_level_and_tags(imported: SigmaLoadResult) -> None:
    by_id = {r.sigma_id: r for r in imported.rules}
    shell = by_id["83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871"]  # Linux Reverse Shell Indicator
    assert shell.name == "Linux Reverse Shell Indicator"
    assert shell.priority is Priority.CRITICAL
    assert {"sigma", "mitre_execution", "T1059.004"} <= set(shell.tags)
    assert "83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871" in shell.output
    assert shell.condition.startswith("evt.type in (connect, accept, accept4)")
    assert 'not (fd.sip = "127.0.0.1" or fd.sip = "0.0.0.0")' in shell.condition


def _firing_failures(imported: SigmaLoadResult, ruleset: Ruleset) -> tuple[list[str], list[str]]:
    """Rules that fire on no sample of their detection; rules firing on every near miss."""
    silent: list[str] = []
    louder: list[str] = []
    for rule in imported.rules:
        condition = _source_rule(rule).detection.parsed_condition[0].parsed
        fired_on = None
        for term in itertools.islice(sample_terms(condition), MAX_TERMS):
            values = field_values(term)
            if values is None:
                continue
            if rule.name in {r.name for r in ruleset.matches(sample_event(rule.category, values))}:
                fired_on = (term, values)
                break
        if fired_on is None:
            silent.append(f"{rule.path.name}: {rule.condition}")
        elif not _near_miss_is_silent(rule, *fired_on, ruleset):
            louder.append(rule.path.name)
    return silent, louder


def test_every_loaded_rule_fires_on_an_event_built_from_its_detection(
    imported: SigmaLoadResult, sigma_ruleset: Ruleset
) -> None:
    silent, louder = _firing_failures(imported, sigma_ruleset)
    assert not silent, "rules that never fired:\n" + "\n".join(silent)
    assert not louder, "rules still firing on every near miss:\n" + "\n".join(louder)


def test_auditd_rules_load_where_fields_map_and_fire_on_their_samples(corpus: Path) -> None:
    directory = corpus / "sigma" / "rules" / "linux" / "auditd"
    files = sorted(directory.rglob("*.yml"))
    auditd = load_sigma_rules([directory])
    counts = f"{len(auditd.rules)} loaded, {len(auditd.refused)} refused"
    print(f"auditd rules: {len(files)} files, {counts}")
    for path, reason in auditd.refused:
        print(f"refused {path.name}: {reason}")
    assert {r.path for r in auditd.rules} | {p for p, _ in auditd.refused} == set(files)
    assert all(reason.strip() for _, reason in auditd.refused)
    assert len(auditd.rules) >= 40  # a1..aN map to proc.args[0..N-1]
    ruleset = load_rules([], sources=auditd.sources())
    assert not ruleset.errors
    silent, louder = _firing_failures(auditd, ruleset)
    assert not silent, "rules that never fired:\n" + "\n".join(silent)
    assert not louder, "rules still firing on every near miss:\n" + "\n".join(louder)


def _neutral(field: str, current: str) -> str:
    value = NEUTRAL.get(field, "zzz")
    return value + "x" if value == current else value


def _near_miss_is_silent(
    rule: SigmaRuleImport, term: tuple[object, ...], values: dict[str, str], ruleset: Ruleset
) -> bool:
    fields = [lit.field for lit in term if lit.positive]  # type: ignore[attr-defined]
    for field in dict.fromkeys(fields):
        changed = {
            **values,
            field: _neutral(field, values[field]),
        }
        if field in ("Initiated",):
            changed[field] = "false" if values[field] == "true" else "true"
        event = sample_event(rule.category, changed)
        if rule.name not in {r.name for r in ruleset.matches(event)}:
            return True
    return False


def test_quote_round_trips_through_the_condition_parser() -> None:
    from stockade.rules import parse_condition
    from stockade.rules.ast import BinaryCheck, Value

    for text in ['a"b', "back\\slash", "tab\tnew\nline", "C:\\Windows\\*"]:
        node = parse_condition(f"proc.cmdline = {quote(text)}")
        assert isinstance(node, BinaryCheck) and isinstance(node.right, Value)
        assert node.right.value == text


def test_sigma_rules_join_the_default_rules_in_one_ruleset(imported: SigmaLoadResult) -> None:
    from stockade.rules.default import default_rule_paths

    ruleset = load_rules(default_rule_paths(), sources=imported.sources())
    assert not ruleset.errors
    names = {rule.name for rule in ruleset.rules}
    assert "Terminal shell in container" in names
    assert {r.name for r in imported.rules} <= names
