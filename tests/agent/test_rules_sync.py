"""The agent's custom rules: a bundle loaded beside the agent's own rules and swapped in,
one with errors or needing an event type the sensor lacks refused with its position, the
rules kept, and the kept bundle loaded at the next start."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.agent.detection import event_types_needed, fd_kinds_needed
from stockade.agent.enroll import Credentials
from stockade.agent.rules_sync import STATE_FILE, RulesSync, refusal, restore_bundle
from stockade.detect.rules import RulesDetector
from stockade.rules.custom import RuleBundle, RuleFileText, load_with_bundle

OWN = """- rule: Own rule
  desc: the agent's own file
  condition: evt.type = execve and proc.name = own-tool
  output: own (%proc.cmdline)
  priority: NOTICE
"""
CUSTOM = RuleFileText(
    "custom.yaml",
    """- rule: Custom rule
  desc: from the platform
  condition: evt.type = execve and proc.name = custom-tool
  output: custom (%proc.cmdline)
  priority: WARNING
""",
)
NEEDS_FLOCK = RuleFileText(
    "lock.yaml",
    """- rule: Lock rule
  desc: an event type the sensor was not started with
  condition: evt.type = flock
  output: lock
  priority: NOTICE
""",
)
BROKEN = RuleFileText("broken.yaml", "- rule: Broken\n  condition: evt.type = execve and\n")
CAPTURED = frozenset({"execve", "execveat", "clone", "procexit"})


@pytest.fixture
def own_rules(tmp_path: Path) -> Path:
    """The agent's own rule file."""
    path = tmp_path / "own.yaml"
    path.write_text(OWN)
    return path


def _sync(own_rules: Path, state_dir: Path) -> tuple[RulesSync, RulesDetector]:
    detector = RulesDetector.from_paths([own_rules])
    unused = Credentials("agent-1", state_dir / "k", state_dir / "c", state_dir / "ca")
    return RulesSync(
        "https://127.0.0.1:1", unused, detector, [own_rules], state_dir, CAPTURED
    ), detector


def _names(detector: RulesDetector) -> set[str]:
    return {r.name for r in detector.ruleset.rules if r.enabled}


@pytest.mark.parametrize(
    ("files", "error"),
    [
        pytest.param([BROKEN], "broken.yaml:1:3: LOAD_ERR_", id="load-error"),
        pytest.param(
            [NEEDS_FLOCK],
            "lock.yaml:1:3: rule 'Lock rule' needs event type(s) flock",
            id="uncaptured",
        ),
    ],
)
def test_a_bundle_the_agent_cannot_run_is_refused_and_the_rules_kept(
    own_rules: Path, tmp_path: Path, files: list[RuleFileText], error: str
) -> None:
    sync, detector = _sync(own_rules, tmp_path)
    loaded = sync.take(RuleBundle(revision=1, sha256="a", files=[CUSTOM]))
    assert loaded.error == "" and _names(detector) == {"Own rule", "Custom rule"}
    before = detector.ruleset
    refused = sync.take(RuleBundle(revision=2, sha256="b", files=[CUSTOM, *files]))
    assert refused.error.startswith(error), refused.error
    assert (refused.revision, refused.rules) == (2, 2)
    assert detector.ruleset is before


def test_switches_apply_and_the_kept_bundle_loads_at_the_next_start(
    own_rules: Path, tmp_path: Path
) -> None:
    sync, detector = _sync(own_rules, tmp_path)
    bundle = RuleBundle(revision=3, sha256="c", files=[CUSTOM], toggles={"Own rule": False})
    assert sync.take(bundle).rules == 1
    assert _names(detector) == {"Custom rule"}
    assert (tmp_path / STATE_FILE).exists()

    restarted = RulesDetector.from_paths([own_rules])
    assert restore_bundle(restarted, [own_rules], tmp_path).revision == 3
    assert _names(restarted) == {"Custom rule"}
    (tmp_path / STATE_FILE).write_text("not json")
    assert (
        restore_bundle(RulesDetector.from_paths([own_rules]), [own_rules], tmp_path).revision == 0
    )


def test_a_rule_on_descriptors_the_sensor_drops_is_refused(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"  # the agent started watching writes to unix sockets only
    own.write_text(
        OWN.replace(
            "evt.type = execve and proc.name = own-tool", "evt.type = write and fd.typechar = u"
        )
    )
    detector = RulesDetector.from_paths([own])
    types = event_types_needed([detector])
    kept = fd_kinds_needed([detector], types)
    assert kept["write"] == frozenset({"u"})
    files = RuleFileText(
        "files.yaml",
        OWN.replace("Own rule", "File writes").replace(
            "evt.type = execve and proc.name = own-tool", "evt.type = write and fd.typechar = f"
        ),
    )
    sockets = RuleFileText(
        "sockets.yaml",
        OWN.replace("Own rule", "Socket writes").replace(
            "evt.type = execve and proc.name = own-tool",
            "evt.type = write and fd.typechar = u and proc.name = x",
        ),
    )
    for custom, error in (
        (files, "files.yaml:1:3: rule 'File writes' needs write events on descriptor"),
        (sockets, ""),
    ):
        bundle = RuleBundle(revision=1, sha256="d", files=[custom])
        ruleset = load_with_bundle([own], bundle.files, {})
        assert refusal(ruleset, bundle, types, kept).startswith(error)
        assert bool(error) == bool(refusal(ruleset, bundle, types, kept))
