"""The platform's custom rules on the agent: fetched, compiled, swapped in, reported back.

Every `SYNC_S` one thread asks the platform for the custom rules bundle
(`GET /api/v1/agent/rules?revision=N`). A new one is compiled off to the side with the
agent's own rule files first (the same loader the agent started with) and swapped into the
rules detector in one reference assignment: the pipeline keeps judging events throughout,
each under the old or the new rules whole. A bundle with load errors, or with a rule
needing an event type the sensor was not started with, or I/O on descriptor kinds its
filter drops (it could never match until a restart attaches them), is refused: the
agent keeps its rules and says why (`POST /api/v1/agent/rules`), as it reports each load.
The last loaded bundle is kept in the state dir and loaded at start, before the sensor is
chosen, so its event types are attached and the agent judges by it before the platform
answers.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping, Sequence, Set
from pathlib import Path

import httpx
import msgspec

from stockade.agent.enroll import Credentials, response_detail
from stockade.detect.base import Detector
from stockade.detect.rules import RulesDetector
from stockade.rules.custom import (
    RuleBundle,
    RuleLoadReport,
    bundle_errors,
    load_with_bundle,
)
from stockade.rules.fdkinds import fd_kinds_for
from stockade.rules.ruleset import Ruleset
from stockade.sensor.fallback import capturable

log = logging.getLogger(__name__)
RULES_PATH = "/api/v1/agent/rules"
STATE_FILE = "custom-rules.json"
SYNC_S = 2.0
_bundle = msgspec.json.Decoder(RuleBundle)


def rules_detector(detectors: Sequence[Detector]) -> RulesDetector | None:
    """The agent's rules detector, if it runs one."""
    return next((d for d in detectors if isinstance(d, RulesDetector)), None)


def refusal(
    ruleset: Ruleset,
    bundle: RuleBundle,
    captured: Set[str],
    fd_kinds: Mapping[str, frozenset[str]] | None = None,
) -> str:
    """Why the agent cannot run `bundle` (its first load error, or a rule its sensor
    cannot feed: an event type not attached, or descriptor kinds the kernel drops for a
    type (`fd_kinds`, the sensor's filter)); "" when it can."""
    errors = bundle_errors(ruleset, bundle.files)
    if errors:
        return str(errors[0])
    own = {f.name for f in bundle.files}
    for rule in ruleset.rules:
        if not rule.enabled or rule.event_types is None:
            continue
        if rule.file not in own and rule.name not in bundle.toggles:
            continue  # the agent's own rules were attached at start
        where = f"{rule.file}:{rule.line}:{rule.column}: rule '{rule.name}' needs"
        missing = sorted(capturable(rule.event_types) - captured)
        if missing:
            return (
                f"{where} event type(s) {', '.join(missing)} that this agent's sensor was "
                "not started with; restart the agent to attach them"
            )
        for event_type in sorted(rule.event_types & set(fd_kinds or {})):
            kinds = fd_kinds_for(rule.tree, event_type)
            kept = (fd_kinds or {})[event_type]
            if kinds is None or not kinds <= kept:
                return (
                    f"{where} {event_type} events on descriptor kinds the sensor drops "
                    f"(it keeps {', '.join(sorted(kept)) or 'none'}); restart the agent"
                )
    return ""


def enabled_rules(ruleset: Ruleset) -> int:
    """How many rules of a ruleset are enabled."""
    return sum(1 for rule in ruleset.rules if rule.enabled)


def restore_bundle(detector: RulesDetector, base: Sequence[Path], state_dir: Path) -> RuleBundle:
    """Load the bundle kept from the last run, before the sensor starts; an empty bundle
    when there is none or it no longer loads (then the platform sends it again)."""
    try:
        bundle = _bundle.decode((state_dir / STATE_FILE).read_bytes())
    except (OSError, msgspec.DecodeError):
        return RuleBundle()
    ruleset = load_with_bundle(base, bundle.files, bundle.toggles)
    errors = bundle_errors(ruleset, bundle.files)
    if errors:  # the agent's own rule files changed under it
        log.warning("rules: the kept custom rules no longer load: %s", errors[0])
        return RuleBundle()
    detector.use(ruleset)
    return bundle


class RulesSync:
    """One thread keeping the rules detector on the platform's newest custom rules."""

    def __init__(
        self,
        server_url: str,
        credentials: Credentials,
        detector: RulesDetector,
        base: Sequence[Path],
        state_dir: Path,
        captured: Set[str],
        loaded: RuleBundle | None = None,
        interval_s: float = SYNC_S,
        fd_kinds: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._url = server_url.rstrip("/")
        self._credentials = credentials
        self._detector = detector
        self._base = list(base)
        self._state_dir = state_dir
        self._captured = frozenset(captured)
        self._fd_kinds = dict(fd_kinds or {})  # the sensor's I/O filter (iofilter.py)
        self.loaded = loaded or RuleBundle()  # the bundle the detector runs now
        self.revision = -1  # the newest revision seen (loaded or refused)
        self._unsent: RuleLoadReport | None = None
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-rules", daemon=True)

    def start(self) -> RulesSync:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(verify=self._credentials.ssl_context(), timeout=10.0) as client:
            while True:
                try:
                    self.sync_once(client)
                except Exception:  # the thread must outlive one bad round
                    log.exception("rules: sync failed")
                if self._stop.wait(self._interval_s):
                    return

    def sync_once(self, client: httpx.Client) -> RuleLoadReport | None:
        """Fetch the bundle if newer, load or refuse it, report; the report, if any."""
        try:
            answer = client.get(self._url + RULES_PATH, params={"revision": self.revision})
        except httpx.HTTPError as e:
            log.warning("rules: platform unreachable: %s", e)
            return None
        if answer.status_code != 200:
            log.warning("rules: bundle refused: %s", response_detail(answer))
            return None
        bundle = _bundle.decode(answer.content)
        if not bundle.unchanged:
            self._unsent = self.take(bundle)
            self.revision = bundle.revision
        report, self._unsent = self._unsent, None
        if report is not None and not self._send(client, report):
            self._unsent = report  # sent again next round
        return report

    def take(self, bundle: RuleBundle) -> RuleLoadReport:
        """Load `bundle` into the detector, or keep the rules it has and say why."""
        if bundle.sha256 and bundle.sha256 == self.loaded.sha256:
            rules = enabled_rules(self._detector.ruleset)
            return RuleLoadReport(bundle.revision, bundle.sha256, rules=rules)
        ruleset = load_with_bundle(self._base, bundle.files, bundle.toggles)
        problem = refusal(ruleset, bundle, self._captured, self._fd_kinds)
        if problem:
            log.error("rules: custom rules revision %d refused: %s", bundle.revision, problem)
            rules = enabled_rules(self._detector.ruleset)
            return RuleLoadReport(bundle.revision, bundle.sha256, error=problem, rules=rules)
        self._detector.use(ruleset)
        self.loaded = bundle
        with contextlib.suppress(OSError):  # a read-only state dir costs only the warm start
            (self._state_dir / STATE_FILE).write_bytes(msgspec.json.encode(bundle))
        log.info("rules: custom rules revision %d loaded", bundle.revision)
        return RuleLoadReport(bundle.revision, bundle.sha256, rules=enabled_rules(ruleset))

    def _send(self, client: httpx.Client, report: RuleLoadReport) -> bool:
        try:
            sent = client.post(self._url + RULES_PATH, content=msgspec.json.encode(report))
        except httpx.HTTPError as e:
            log.warning("rules: platform unreachable: %s", e)
            return False
        if sent.status_code != 200:
            log.warning("rules: load report refused: %s", response_detail(sent))
        return sent.status_code == 200
