"""The agent daemon: sensor -> context -> detect -> spool -> transport, plus heartbeats.

The calling thread runs the pipeline; one thread sends the spool, one sends heartbeats.
`Agent.run(stop)` enrolls if needed, runs until `stop` is set, then flushes and closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import stockade
from stockade.agent import pipeline
from stockade.agent.action_journal import ActionJournal
from stockade.agent.aggregate import DEFAULT_WINDOW_S, AlertAggregator
from stockade.agent.baseline_checks import BaselineSender, BaselineWorker
from stockade.agent.detection import (
    DEFAULT_DETECTORS,
    agent_detectors,
    event_types_needed,
    fd_kinds_needed,
)
from stockade.agent.enroll import Credentials, enroll, load_credentials
from stockade.agent.errors import AgentError, SpoolFull, TransportError
from stockade.agent.firewall_sync import FirewallSync
from stockade.agent.heap import limit_arenas, release_free_pages, return_large_buffers
from stockade.agent.hostinfo import this_host
from stockade.agent.image_integrity import IntegrityAlerts
from stockade.agent.image_scan_runner import start_image_scans
from stockade.agent.image_scans import ImageScanScheduler
from stockade.agent.inventory import (
    POLL_EVERY_S,
    InventoryCollector,
    InventorySender,
    InventoryWorker,
)
from stockade.agent.inventory_outbox import InventoryOutbox
from stockade.agent.oci_hook_server import HookSettings
from stockade.agent.orders import OrderChannel
from stockade.agent.profile_sync import start_profiles
from stockade.agent.responder import Responder
from stockade.agent.ring_commits import RingCommits, resume_commits
from stockade.agent.rules_sync import RulesSync, restore_bundle, rules_detector
from stockade.agent.spool import Spool
from stockade.agent.transport import Transport
from stockade.context import ContextStage
from stockade.context.local import local_context_stage
from stockade.context.pending import PendingContainers
from stockade.context.resolver import ContainerResolver
from stockade.context.running import RunningContainers
from stockade.context.runtime import all_runtimes
from stockade.detect.base import Detector
from stockade.host.fim_monitor import FimMonitor
from stockade.host.fim_policy import FimPolicy
from stockade.model import Alert, Event, Host
from stockade.model.wire import Heartbeat, SensorStatus
from stockade.outputs import AlertOutputs, OutputSettings, open_outputs
from stockade.respond.base import ActionContext
from stockade.respond.policy_load import load_policies
from stockade.rules.custom import RuleBundle
from stockade.rules.default import default_rule_paths
from stockade.sensor import procfs
from stockade.sensor.base import EventSource, SensorError
from stockade.sensor.bpf.pins import PinLayout
from stockade.sensor.bpf.source import BpfSource
from stockade.sensor.fallback import DEFAULT_CHAIN, Chain, SensorChoice, choose_source

log = logging.getLogger(__name__)
HEARTBEAT_EVERY_S = 5.0
RESYNC_S = 30.0  # at most one process tree resync from /proc per this many seconds


@dataclass(frozen=True)
class AgentConfig:
    """Where the agent keeps its state, which platform it reports to, how it senses."""

    state_dir: Path
    server_url: str
    enroll_token: str | None = None
    ca_fingerprint: str | None = None  # pins the platform's CA when enrolling
    sources: Chain = DEFAULT_CHAIN  # event source candidates, first that starts wins
    detectors: tuple[str, ...] = DEFAULT_DETECTORS  # ids in the DETECTORS registry
    rules: tuple[Path, ...] = ()  # rule files; empty: Stockade's default rules
    scan_images: bool = True  # scan the image of each new container once per digest
    vulndb: Path | None = None  # vulnerability DB for those scans; None: no vuln matching
    inventory: bool = True  # collect the host inventory (start, on change, every 24 h)
    shell_history: bool = True  # include shell_history rows in it
    inventory_poll_s: float = POLL_EVERY_S  # how often its sources are checked for changes
    alert_window_s: float = DEFAULT_WINDOW_S  # identical alerts within it go out as one; 0: off
    policies: tuple[Path, ...] = ()  # response policy files (YAML), judged on every alert
    outputs: OutputSettings = field(default_factory=OutputSettings)  # where alerts also go
    fim: FimPolicy | None = None  # file integrity monitoring; None: off
    baseline: bool = False  # run the shipped baseline policies at start and every 24 h
    firewall: bool = False  # the learned container firewall (agent/firewall_sync.py)
    firewall_dns: tuple[str, ...] = ()  # DNS resolvers a protected container may still reach
    pin_dir: Path | None = None  # bpffs dir keeping the eBPF sensor between runs; None: off
    ring_bytes: int | None = None  # a new eBPF ring's size; None: the object's (32 MiB)
    hook: HookSettings = field(default_factory=HookSettings)  # protect's OCI hook


class Agent:
    """One probe on one host."""

    def __init__(
        self,
        config: AgentConfig,
        detectors: Sequence[Detector] | None = None,
        on_ready: Callable[[Agent], None] | None = None,
    ) -> None:
        self.config = config
        return_large_buffers()  # batch-sized buffers must not stay resident once freed
        limit_arenas()  # before its threads start: one arena each would keep their pages
        self.ready = threading.Event()  # set once events flow (enrolled, sensor started)
        self.agent_id = ""
        self.source_name = ""
        self._on_ready = on_ready
        self.detectors: tuple[Detector, ...] = tuple(
            detectors if detectors is not None else agent_detectors(config.detectors, config.rules)
        )
        self.rules_sync: RulesSync | None = None
        self._captured: frozenset[str] = frozenset()  # event types the sensor started with
        self._fd_kinds: dict[str, frozenset[str]] = {}  # descriptor kinds it keeps, by type
        self._custom_rules = self._restore_custom_rules()  # before the sensor is chosen
        release_free_pages()  # what compiling the rules left behind
        self.dropped_full = 0  # events refused by a full spool
        self.aggregator = AlertAggregator(config.alert_window_s)
        self.spool: Spool | None = None
        self.transport: Transport | None = None
        self.image_scans: ImageScanScheduler | None = None
        self.firewall: FirewallSync | None = None
        self.inventory: InventoryWorker | None = None
        self.policies = load_policies(config.policies)  # a bad file stops the start-up
        self.responder: Responder | None = None
        self.outputs: AlertOutputs | None = None
        self._alerts_lock = threading.Lock()  # the pipeline and FIM both hand in alerts
        self._commits: RingCommits | None = None  # a pinned ring freed only once spooled

    @staticmethod
    def is_enrolled(state_dir: Path) -> bool:
        """True when `state_dir` holds credentials from an earlier enrollment."""
        return load_credentials(state_dir) is not None

    def credentials(self, host: Host) -> Credentials:
        """The stored credentials, enrolling first with the configured token if needed."""
        found = load_credentials(self.config.state_dir)
        if found is not None:
            return found
        if not self.config.enroll_token:
            raise AgentError(
                f"not enrolled (no credentials in {self.config.state_dir}): pass --enroll TOKEN"
            )
        return enroll(
            self.config.state_dir,
            self.config.server_url,
            self.config.enroll_token,
            host,
            self.config.ca_fingerprint,
        )

    def _choose_source(self) -> SensorChoice:
        try:
            types = self._captured = event_types_needed(self.detectors)
            self._fd_kinds = fd_kinds_needed(self.detectors, types)
            return choose_source(
                self.config.sources,
                event_types=types,
                fd_kinds=self._fd_kinds,
                configure=self._configure_source,
            )
        except SensorError as e:
            raise AgentError(str(e)) from e

    def _configure_source(self, source: EventSource) -> None:
        """With a pin dir, the eBPF sensor stays in the kernel and commits after spooling."""
        if self.config.pin_dir is not None and isinstance(source, BpfSource):
            source.keep_pinned(PinLayout(self.config.pin_dir), self.config.ring_bytes)
            source.hold_commits()

    def run(self, stop: threading.Event) -> None:
        """Enroll if needed, run until `stop` is set, then flush and close cleanly."""
        host = this_host(self.config.state_dir)
        creds = self.credentials(host)
        choice = self._choose_source()
        try:
            self._run_started(stop, host, creds, choice)
        finally:
            choice.source.stop()

    def _run_started(
        self, stop: threading.Event, host: Host, creds: Credentials, choice: SensorChoice
    ) -> None:
        spool = self.spool = Spool(self.config.state_dir / "spool")
        self._commits = resume_commits(choice.source, self.config.state_dir, spool)
        self.outputs = open_outputs(self.config.outputs, self.config.state_dir)
        transport = self.transport = Transport(spool, self.config.server_url, creds)
        self.agent_id, self.source_name = creds.agent_id, choice.name
        log.info("agent %s: event source %s", creds.agent_id, choice.name)
        if self.config.scan_images:
            tampered = IntegrityAlerts(lambda alerts: self._fim_alerts(spool, alerts), host.id)
            self.image_scans = start_image_scans(
                self.config.state_dir, self.config.server_url, creds, self.config.vulndb, tampered
            )
        responder = self.responder = Responder(
            ActionJournal(self.config.state_dir / "actions"),
            ActionContext(self.config.state_dir / "respond", self.config.server_url),
            self.policies,
            agent_id=creds.agent_id,
            host_id=host.id,
        )
        orders = OrderChannel(self.config.server_url, creds, responder).start()
        inventory = self._start_inventory(host, creds)
        baseline = self._start_baseline(host, creds)
        stop_profiles = start_profiles(
            self.detectors, self.config.server_url, creds, self.config.state_dir, self.config.hook
        )
        firewall = self.firewall = self._start_firewall(host, creds, spool)
        rules_sync = self.rules_sync = self._start_rules_sync(creds)
        context = local_context_stage(host_id=host.id)
        pending = PendingContainers(context.resolver)
        senders = threading.Event()
        threads = [
            threading.Thread(target=transport.run, args=(senders,), name="stockade-transport"),
            threading.Thread(
                target=self._heartbeats, args=(senders, transport, host, choice), name="hb"
            ),
        ]
        if self.config.fim is not None:
            monitor = FimMonitor(self.config.fim, self.config.state_dir, host.id)
            threads.append(
                threading.Thread(
                    target=monitor.run,
                    args=(senders, lambda alerts: self._fim_alerts(spool, alerts)),
                    name="stockade-fim",
                )
            )
        for thread in threads:
            thread.start()
        try:
            self.ready.set()
            if self._on_ready is not None:
                self._on_ready(self)
            self._pipeline(stop, choice, context, pending, spool, host)
        finally:
            with contextlib.suppress(SpoolFull):
                self._accept(spool, pending.flush(), host)
            with contextlib.suppress(SpoolFull):
                self._append_alerts(spool, self.aggregator.flush())  # counted repeats too
            spool.flush()
            if self._commits is not None:
                self._commits.commit(None)
            self.outputs.close()
            senders.set()
            if self.image_scans is not None:
                self.image_scans.stop()
            responder.close()
            orders.stop()
            if inventory is not None:
                inventory.stop()
            if baseline is not None:
                baseline.stop()
            if stop_profiles is not None:
                stop_profiles()
            if firewall is not None:
                firewall.stop()
            if rules_sync is not None:
                rules_sync.stop()
            responder.journal.close()
            for thread in threads:
                thread.join()
            transport.drain(timeout_s=2.0)
            spool.close()
            transport.close()

    def _start_baseline(self, host: Host, creds: Credentials) -> BaselineWorker | None:
        if not self.config.baseline:
            return None
        return BaselineWorker(host.id, BaselineSender(self.config.server_url, creds).send).start()

    def _start_inventory(self, host: Host, creds: Credentials) -> InventoryWorker | None:
        if not self.config.inventory:
            return None
        sender = InventorySender(self.config.server_url, creds)
        collector = InventoryCollector(host.id, shell_history=self.config.shell_history)
        outbox = InventoryOutbox(self.config.state_dir / "inventory-outbox")
        self.inventory = InventoryWorker(
            collector, sender.send, self.config.inventory_poll_s, on_stop=sender.close,
            outbox=outbox,
        )  # fmt: skip
        return self.inventory.start()

    def _pipeline(
        self,
        stop: threading.Event,
        choice: SensorChoice,
        context: ContextStage,
        pending: PendingContainers,
        spool: Spool,
        host: Host,
    ) -> None:
        own_pid = os.getpid()
        last_flush = time.monotonic()
        last_full_log = 0.0
        last_dropped = 0
        last_resync = float("-inf")
        commits = self._commits
        while not stop.is_set():
            mark = commits.begin_batch() if commits else 0
            raw = choice.source.poll(0.1)
            if commits is not None:
                raw = commits.drop_replayed(raw)
            events = pending.push(
                pipeline.without_own_activity(context.enrich_all(raw), own_pid), mark
            )
            try:
                self._accept(spool, events, host)
            except SpoolFull as e:
                if time.monotonic() - last_full_log > 10:  # once per 10 s, not per batch
                    log.error("%s (%d records dropped so far)", e, self.dropped_full)
                    last_full_log = time.monotonic()
            if commits is not None:
                commits.commit(pending.oldest_mark())
            if time.monotonic() - last_flush > 0.5:
                spool.flush()
                last_flush = time.monotonic()
                dropped = choice.source.stats().dropped
                # Exits were lost: the tree may hold the dead. A scan reads several /proc
                # files of every process; while drops go on (a busy host), one per RESYNC_S.
                if dropped > last_dropped and time.monotonic() - last_resync > RESYNC_S:
                    context.tree.resync(procfs.scan())
                    last_dropped, last_resync = dropped, time.monotonic()

    def _accept(self, spool: Spool, events: list[Event], host: Host) -> None:
        """Spool the events, then their alerts (which get their event's seq).

        When the spool is full the events are dropped but still inspected: their alerts
        may use the room the spool keeps for alerts. SpoolFull is re-raised for logging.
        """
        if self.image_scans is not None:
            self.image_scans.offer(events)
        if self.firewall is not None:
            self.firewall.observe(events)
        try:
            spool.append(events)
        except SpoolFull:
            self.dropped_full += len(events)
            alerts = self._detect(events, host)
            if alerts:
                self._append_alerts(spool, alerts)
            raise
        self._append_alerts(spool, self._detect(events, host))

    def _detect(self, events: list[Event], host: Host) -> list[Alert]:
        """Alerts for the events; the responder judges each one as it is made."""
        offer = self.responder.offer if self.responder is not None else None
        return pipeline.detect(events, self.detectors, host, self.aggregator, offer)

    def _append_alerts(self, spool: Spool, alerts: list[Alert]) -> None:
        with self._alerts_lock:
            if self.outputs is not None:
                self.outputs.emit(alerts)  # queued on their own: a full spool does not stop them
            try:
                spool.append(alerts)
            except SpoolFull:
                self.dropped_full += len(alerts)
                raise

    def _start_firewall(self, host: Host, creds: Credentials, spool: Spool) -> FirewallSync | None:
        """The firewall's thread, if configured; its alerts are spooled like FIM's."""
        if not self.config.firewall:
            return None
        resolver = ContainerResolver(all_runtimes())  # its own: the pipeline's is not shared
        return (
            FirewallSync(
                self.config.server_url,
                creds,
                RunningContainers(resolver),
                lambda alerts: self._fim_alerts(spool, alerts),
                host_id=host.id,
                resolvers=self.config.firewall_dns,
            )
            .start()
            .watch_starts()
        )

    def _restore_custom_rules(self) -> RuleBundle:
        """The platform's custom rules kept from the last run, loaded into the rules detector."""
        detector = rules_detector(self.detectors)
        if detector is None:
            return RuleBundle()
        base = list(self.config.rules) or default_rule_paths()
        return restore_bundle(detector, base, self.config.state_dir)

    def _start_rules_sync(self, creds: Credentials) -> RulesSync | None:
        """The thread taking the platform's custom rules, if the agent runs rules."""
        detector = rules_detector(self.detectors)
        if detector is None:
            return None
        base = list(self.config.rules) or default_rule_paths()
        state_dir, loaded = self.config.state_dir, self._custom_rules
        sync = RulesSync(
            self.config.server_url, creds, detector, base, state_dir, self._captured, loaded,
            fd_kinds=self._fd_kinds,
        )  # fmt: skip
        return sync.start()

    def _fim_alerts(self, spool: Spool, alerts: list[Alert]) -> None:
        """Alerts from other threads (FIM, firewall, image integrity), spooled like the rules'."""
        if not alerts:
            return
        with contextlib.suppress(SpoolFull):
            self._append_alerts(spool, alerts)

    def _heartbeats(
        self, stop: threading.Event, transport: Transport, host: Host, choice: SensorChoice
    ) -> None:
        while True:
            stats = choice.source.stats()
            beat = Heartbeat(
                agent_id=transport.agent_id,
                host=host,
                version=stockade.__version__,
                sensor=SensorStatus(
                    source=choice.name,
                    degraded=choice.degraded or "",
                    events_by_type=stats.events_by_type,
                    dropped=stats.dropped,
                    decode_errors=stats.decode_errors,
                    spool_dropped=self.dropped_full,
                ),
                spooled_seq=self.spool.last_seq if self.spool else 0,
            )
            try:
                transport.heartbeat(beat)
            except TransportError as e:
                log.warning("heartbeat: %s", e)
            except Exception:  # a bug must not end heartbeats silently
                log.exception("heartbeat failed")
            if stop.wait(HEARTBEAT_EVERY_S):
                return
