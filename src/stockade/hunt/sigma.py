"""Sigma rules as hunts over stored events: each rule is imported as a Falco rule (see
`rules.sigma`, which refuses what it cannot express, with the reason) and judged against
every stored event of the window, decoded from its stored body; read-only, with a match
limit and a time limit like SQL hunts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import yaml

from stockade.errors import StockadeError
from stockade.hunt.engine import HuntError
from stockade.hunt.source import HuntSource
from stockade.model.events import Event
from stockade.rules import load_rules
from stockade.rules.sigma import load_sigma_rules
from stockade.yaml_marks import yaml_problem, yaml_where

_decode = msgspec.msgpack.Decoder(Event).decode


@dataclass(frozen=True)
class SigmaMatch:
    """One stored event a Sigma rule matched."""

    rule: str
    time: int
    host_id: str
    agent_id: str
    event_seq: int
    container_id: str
    proc_name: str
    proc_cmdline: str


@dataclass
class SigmaHuntResult:
    """What the rules matched, the rules refused (path: reason), and whether rows were cut."""

    matches: list[SigmaMatch] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    truncated: bool = False
    scanned: int = 0


def sigma_hunt(
    source: HuntSource,
    rule_paths: Sequence[Path],
    window: tuple[int, int],
    limit: int = 1000,
    timeout_s: float = 30.0,
) -> SigmaHuntResult:
    """Judge the Sigma rules at `rule_paths` against stored events in [since, until)."""
    _check_documents(rule_paths)
    try:
        loaded = load_sigma_rules(rule_paths)
    except (StockadeError, ValueError) as e:
        raise HuntError(f"sigma hunt: {' '.join(str(e).split())}") from None
    result = SigmaHuntResult(refused=[f"{path}: {reason}" for path, reason in loaded.refused])
    if not loaded.rules:
        return result
    ruleset = load_rules([], sources=loaded.sources())
    deadline = time.monotonic() + timeout_s
    with source.event_bodies(window) as rows:
        for agent_id, body in rows:
            result.scanned += 1
            if result.scanned % 10_000 == 0 and time.monotonic() > deadline:
                raise HuntError(f"sigma hunt: ran over its {timeout_s:g} s time limit")
            event = _decode(body)
            for rule in ruleset.matches(event):
                if len(result.matches) >= limit:
                    result.truncated = True
                    return result
                result.matches.append(_match(rule.name, agent_id, event))
    return result


def _check_documents(paths: Sequence[Path]) -> None:
    """HuntError unless every YAML document of every file is a mapping (a Sigma rule)."""
    for path in paths:
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except OSError as e:
            raise HuntError(f"sigma hunt: {path.name}: {e.strerror}") from None
        except yaml.YAMLError as e:
            where = yaml_where(path.name, e)
            raise HuntError(f"sigma hunt: {where}: not valid YAML: {yaml_problem(e)}") from None
        if not documents or not all(isinstance(d, dict) for d in documents):
            raise HuntError(f"sigma hunt: {path.name}: each YAML document must be a Sigma rule")


def _match(rule: str, agent_id: str, event: Event) -> SigmaMatch:
    return SigmaMatch(
        rule=rule,
        time=event.ts,
        host_id=event.host_id,
        agent_id=agent_id,
        event_seq=event.seq,
        container_id=event.container.id,
        proc_name=event.proc.name,
        proc_cmdline=" ".join((event.proc.name, *event.proc.argv[1:])),  # as Falco's proc.cmdline
    )
