"""The agent builds its detectors from DETECTORS and asks each for the event types it needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stockade.agent import Agent, AgentConfig, AgentError
from stockade.agent.detection import event_types_needed, fd_kinds_needed
from stockade.detect import DETECTORS, DetectorConfig
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.rules import RulesDetector
from stockade.model import Alert, Event, EventType
from stockade.model.events import HIGH_VOLUME_EVENT_TYPES, LIFECYCLE_EVENT_TYPES
from stockade.profiles.detector import ProfileDetector


class ConnectDetector:
    """A detector that is not the rule engine: looks at connects only."""

    def __init__(self, config: DetectorConfig) -> None:
        self.rule_paths = config.rule_paths

    def inspect(self, event: Event) -> list[Alert]:  # noqa: ARG002 (interface)
        """Nothing."""
        return []

    def event_types(self) -> frozenset[str] | None:
        """Connects."""
        return frozenset({EventType.CONNECT})


class AnyDetector(ConnectDetector):
    """A detector that may look at any event."""

    def event_types(self) -> frozenset[str] | None:
        """Any."""
        return None


DETECTORS.register("test-agent-connect", ConnectDetector)
DETECTORS.register("test-agent-any", AnyDetector)


def _agent(tmp_path: Path, detectors: tuple[str, ...]) -> Agent:
    config = AgentConfig(tmp_path, "https://127.0.0.1:1", detectors=detectors)
    return Agent(config)


def test_the_agent_builds_the_configured_detectors_from_the_registry(tmp_path: Path) -> None:
    agent = _agent(tmp_path, ("rules", "test-agent-connect"))
    rules, connect = agent.detectors
    assert isinstance(rules, RulesDetector) and isinstance(connect, ConnectDetector)
    assert connect.rule_paths == ()


def test_the_defaults_are_the_rules_correlation_and_profile_detectors(tmp_path: Path) -> None:
    rules, correlation, profile = Agent(AgentConfig(tmp_path, "https://127.0.0.1:1")).detectors
    assert isinstance(rules, RulesDetector)
    assert isinstance(correlation, CorrelationDetector)
    assert isinstance(profile, ProfileDetector)


def test_an_unknown_detector_id_stops_the_agent_with_the_known_ids(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"unknown detector 'nosuch' \(known: .*rules"):
        _agent(tmp_path, ("nosuch",))


def test_cli_agent_with_an_unknown_detector_fails_in_one_line(tmp_path: Path) -> None:
    args = ["agent", "--state-dir", str(tmp_path), "--detector", "nosuch"]
    done = subprocess.run([sys.executable, "-m", "stockade.cli", *args], capture_output=True)
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "unknown detector 'nosuch' (known: " in lines[0], lines


def test_event_types_come_from_each_detector(tmp_path: Path) -> None:
    connect_only = _agent(tmp_path, ("test-agent-connect",)).detectors
    assert event_types_needed(connect_only) == LIFECYCLE_EVENT_TYPES | {EventType.CONNECT}
    with_any = _agent(tmp_path, ("test-agent-connect", "test-agent-any")).detectors
    assert event_types_needed(with_any) == frozenset(EventType) - HIGH_VOLUME_EVENT_TYPES


FLOCK_RULE = """
- rule: Lock taken
  desc: a process takes a file lock (a syscall without a reader of its own)
  condition: evt.type in (flock, container) and proc.name = python3
  output: lock by %proc.name (%evt.arg.ID)
  priority: NOTICE
"""


def test_a_syscall_without_a_reader_of_its_own_is_needed_by_name(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(FLOCK_RULE)
    detectors = [RulesDetector.from_paths([path])]
    needed = event_types_needed(detectors)
    assert "flock" in needed  # eBPF reports it as Falco's generic event
    assert "container" not in needed  # no sensor captures that name: left out
    assert needed - {"flock"} == LIFECYCLE_EVENT_TYPES


STRATUM_RULE = """
- rule: stratum
  desc: stratum sent
  condition: evt.type in (write, sendto) and (fd.typechar = 4 or fd.typechar = 6)
    and evt.buffer contains mining.subscribe
  output: "%proc.name"
  priority: WARNING
- rule: pipe write
  desc: a write on a pipe
  condition: evt.type = write and fd.type = pipe
  output: "%proc.name"
  priority: WARNING
"""


def test_fd_kinds_needed_unite_the_rules_of_each_type(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(STRATUM_RULE)
    rules = RulesDetector.from_paths([path])
    kinds = fd_kinds_needed([rules], ["write", "sendto", "openat"])
    assert kinds == {"write": frozenset("46p"), "sendto": frozenset("46")}  # openat: no rule


def test_a_detector_that_cannot_say_keeps_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(STRATUM_RULE)
    rules, anything = RulesDetector.from_paths([path]), AnyDetector(DetectorConfig())
    assert fd_kinds_needed([rules, anything], ["write"]) == {}
    assert fd_kinds_needed([rules, ConnectDetector(DetectorConfig())], ["connect"]) == {}
