"""The agent's firewall: container flows up, rules down, violations alerted, protect applied.

Every `SYNC_S` one thread reads the socket table of each running container's network
namespace, turns the connections not seen in the previous read into flows (group ->
group or outside address), judges them by the rules and each group's network mode (the
profile push, `GET /api/v1/agent/profiles`; each group is announced once so a user can
set its mode): discover learns, monitor alerts once per flow, protect alerts and
enforces. It posts the flows (`POST /api/v1/agent/flows`, naming the groups still
learning), fetches the rules (`GET /api/v1/agent/firewall/rules`) and brings every
protected container's nftables table in line (`firewall.enforce`). A container being
created (`container_started`, from `agent/container_starts.py`) brings the tables in line
at once from the rules and modes at hand, so a new container of an allowed group is
reachable from its first packet, not from the next round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import httpx
import msgspec

from stockade.agent.container_starts import ContainerStarts
from stockade.agent.enroll import Credentials, response_detail
from stockade.context.resolver import ContainerResolver
from stockade.context.running import RunningContainers
from stockade.firewall.allowlist import AllowRule, Violations
from stockade.firewall.conntrack import read_conntrack, tracked_connections
from stockade.firewall.enforce import Enforcer, Member
from stockade.firewall.events import connection_of, from_a_container
from stockade.firewall.flows import Connection, FlowReport, aggregate
from stockade.firewall.sockets import Socket, connections, listeners, read_sockets
from stockade.model import Alert, Container, Event
from stockade.model.alerts import THIS_HOST, Priority, new_alert
from stockade.profiles.groups import group_id, workload_group
from stockade.profiles.modes import Mode, ModePolicy, effective_modes
from stockade.profiles.selectors import pod_selector
from stockade.profiles.wire import LearnedGroup, LearnedReport, ProfilePush

log = logging.getLogger(__name__)
FLOWS_PATH = "/api/v1/agent/flows"
RULES_PATH = "/api/v1/agent/firewall/rules"
PROFILES_PATH = "/api/v1/agent/profiles"  # the groups' modes, shared with profile sync
SYNC_S = 2.0
MAX_EVENTS = 100_000  # held between two rounds at most; past it events wait for the tables
RULE_NAME = "Connection outside the learned firewall rules"
_rules = msgspec.json.Decoder(list[AllowRule])
_push = msgspec.json.Decoder(ProfilePush)


def running_containers(resolver: ContainerResolver) -> list[Container]:
    """The containers running on this host (from the runtimes' state), with their init pid."""
    return RunningContainers(resolver)()


class FirewallSync:
    """One thread keeping the containers' flows, the platform's rules and nftables in step."""

    def __init__(
        self,
        server_url: str,
        credentials: Credentials,
        containers: Callable[[], Sequence[Container]],
        on_alerts: Callable[[list[Alert]], None],
        host_id: str = "",
        resolvers: Sequence[str] = (),
        interval_s: float = SYNC_S,
    ) -> None:
        self._url = server_url.rstrip("/")
        self._credentials = credentials
        self._containers = containers
        self._on_alerts = on_alerts
        self._host_id = host_id
        self._resolvers = tuple(resolvers)
        self._interval_s = interval_s
        self.rules: list[AllowRule] = []
        self._push = ProfilePush(revision=0, policy=ModePolicy())
        self._seen: dict[str, set[tuple[str, str, int, str, int]]] = {}
        self._listening: dict[str, set[tuple[str, int]]] = {}  # by container, ever seen
        self._violations = Violations()
        self._announced: set[str] = set()
        # conntrack entries of the last round; None before the first, whose entries are only
        # a baseline: they may be days old, of containers long gone whose address is reused
        self._tracked: set[tuple[str, str, int, str, int]] | None = None
        self._events: list[Event] = []  # connect/accept events handed in since the last round
        self._events_lock = threading.Lock()
        self.enforcer = Enforcer()
        self._enforce_lock = threading.RLock()  # rounds and container starts both enforce
        self._starts: ContainerStarts | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-firewall", daemon=True)

    def take_push(self, push: ProfilePush) -> None:
        """Take the groups' modes from a profile push (`ProfileSync(on_push=...)`)."""
        self._push = push

    def network_mode(self, group: str, now_ns: int) -> Mode:
        """The group's network mode now; a group the platform has not seen yet discovers."""
        for pushed in self._push.groups:
            if pushed.profile.group == group:
                return effective_modes(pushed.state, self._push.policy, now_ns).network
        return Mode.DISCOVER

    def start(self) -> FirewallSync:
        """Start the thread."""
        self._thread.start()
        return self

    def watch_starts(self) -> FirewallSync:
        """Bring the tables in line as each container is created (`container_started`)."""
        self._starts = ContainerStarts(self.container_started).start()
        return self

    def stop(self) -> None:
        """Stop the threads (the tables stay: protection outlives the agent)."""
        if self._starts is not None:
            self._starts.stop()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(verify=self._credentials.ssl_context(), timeout=10.0) as client:
            while not self._stop.wait(self._interval_s):
                try:
                    self.sync_once(client)
                except Exception:  # the thread must outlive one bad round
                    log.exception("firewall: sync failed")

    def observe(self, events: Sequence[Event]) -> None:
        """Hand in the sensor's events (any thread); containers' connects and accepts are
        kept until the next round."""
        wanted = [e for e in events if from_a_container(e)]
        if wanted:
            with self._events_lock:
                self._events += wanted[: MAX_EVENTS - len(self._events)]

    def _event_connections(self, by_address: dict[str, str]) -> list[Connection]:
        """Connections of the events handed in; their sockets count as seen already."""
        with self._events_lock:
            events, self._events = self._events, []
        found: list[Connection] = []
        for event in events:
            made = connection_of(event, by_address)
            if made is not None:
                found.append(made[0])
                self._seen.setdefault(event.container.id, set()).add(made[1])
        return found

    def new_connections(self, running: Sequence[Container], now_ns: int) -> list[Connection]:
        """Connections of the sensor's events, and those in the containers' socket tables
        that were there neither last time nor in an event."""
        by_address: dict[str, str] = {c.ip: str(group_id(c)) for c in running if c.ip}
        found: list[Connection] = self._event_connections(by_address)
        seen: dict[str, set[tuple[str, str, int, str, int]]] = {}
        for container in running:
            sockets = read_sockets(container.pid)
            before = self._seen.get(container.id, set())
            seen[container.id] = {s.key for s in sockets}
            fresh: list[Socket] = [s for s in sockets if s.key not in before]
            ports = self._listening.setdefault(container.id, set())
            ports |= listeners(sockets)
            found += connections(group_id(container), fresh, by_address, now_ns, ports)
        self._seen = seen
        found += self._conntrack_connections(by_address, now_ns)
        self._listening = {k: v for k, v in self._listening.items() if k in seen}
        return found

    def _conntrack_connections(self, by_address: dict[str, str], now_ns: int) -> list[Connection]:
        """Host conntrack entries new since last round whose sockets no table or event showed."""
        entries = read_conntrack()
        if self._tracked is None:
            self._tracked = {t.key for t in entries}
            return []
        counted = set().union(*self._seen.values()) if self._seen else set()
        fresh = [
            t for t in entries
            if t.key not in self._tracked and t.key not in counted
            and (t.protocol, t.dst, t.dport, t.src, t.sport) not in counted
        ]  # fmt: skip
        self._tracked = {t.key for t in entries}
        return tracked_connections(fresh, by_address, now_ns)

    def sync_once(self, client: httpx.Client) -> list[Alert]:
        """One round: read, judge, report, fetch the rules, enforce. Returns its alerts."""
        now = time.time_ns()
        with self._enforce_lock:  # the containers' lister is not shared between threads
            running = [c for c in self._containers() if c.pid > 0 and not c.is_host]
        self._announce(client, running, now)
        self._fetch_modes(client)
        found = self.new_connections(running, now)
        modes: dict[str, Mode] = {
            str(group_id(c)): self.network_mode(group_id(c), now) for c in running
        }
        judged = [c for c in found if modes.get(c.src, Mode.DISCOVER) != Mode.DISCOVER
                  or modes.get(c.dst, Mode.DISCOVER) != Mode.DISCOVER]  # fmt: skip
        bad = self._violations.new(self.rules, judged)
        alerts = [self._alert(c, modes, running, now) for c in bad]
        if alerts:
            self._on_alerts(alerts)
        self._report(client, found, bad, [g for g, m in modes.items() if m == Mode.DISCOVER])
        self._fetch_rules(client)
        self._enforce(running, modes)
        return alerts

    def container_started(self, container_id: str) -> None:
        """A container is being created: bring every table in line now (no platform call)."""
        del container_id  # its peers' tables change too: every running container is looked at
        now = time.time_ns()
        with self._enforce_lock:
            running = [c for c in self._containers() if c.pid > 0 and not c.is_host]
            modes = {str(group_id(c)): self.network_mode(group_id(c), now) for c in running}
            self._enforce(running, modes)

    def _enforce(self, running: Sequence[Container], modes: dict[str, Mode]) -> None:
        members = [Member(c.id, group_id(c), c.pid, (c.ip,) if c.ip else ()) for c in running]
        protected = {g for g, m in modes.items() if m == Mode.PROTECT}
        with self._enforce_lock:
            self.enforcer.sync(members, self.rules, protected, self._resolvers)

    def _report(
        self,
        client: httpx.Client,
        found: list[Connection],
        bad: list[Connection],
        learning: list[str],
    ) -> None:
        flows = aggregate(found)
        if not flows:
            return
        bad_keys = {c.key for c in bad}
        report = FlowReport(
            flows=flows, violations=[f.key in bad_keys for f in flows], learning=learning
        )
        try:
            sent = client.post(self._url + FLOWS_PATH, content=msgspec.json.encode(report))
        except httpx.HTTPError as e:
            log.warning("firewall: platform unreachable: %s", e)
            return
        if sent.status_code != 200:
            log.warning("firewall: flows refused: %s", response_detail(sent))

    def _announce(self, client: httpx.Client, running: Sequence[Container], now: int) -> None:
        """Make the platform know each group (so a user can set its mode) once."""
        new = {g.id: (g, c) for c in running if (g := workload_group(c)).id not in self._announced}
        if not new:
            return
        groups = [
            LearnedGroup(id=g.id, name=g.name, first_seen_ns=now, selector=pod_selector(c))
            for g, c in new.values()
        ]
        try:
            sent = client.post(
                self._url + PROFILES_PATH, content=msgspec.json.encode(LearnedReport(groups=groups))
            )
        except httpx.HTTPError as e:
            log.warning("firewall: platform unreachable: %s", e)
            return
        if sent.status_code == 200:
            self._announced |= set(new)

    def _fetch_modes(self, client: httpx.Client) -> None:
        """Take the groups' modes when the platform has a newer profile push."""
        try:
            answer = client.get(self._url + PROFILES_PATH, params={"revision": self._push.revision})
        except httpx.HTTPError as e:
            log.warning("firewall: platform unreachable: %s", e)
            return
        if answer.status_code == 200:
            push = _push.decode(answer.content)
            if push.revision != self._push.revision:
                self._push = push

    def _fetch_rules(self, client: httpx.Client) -> None:
        try:
            answer = client.get(self._url + RULES_PATH)
        except httpx.HTTPError as e:
            log.warning("firewall: platform unreachable: %s", e)
            return
        if answer.status_code == 200:
            self.rules = _rules.decode(answer.content)
        else:
            log.warning("firewall: rules refused: %s", response_detail(answer))

    def _alert(
        self, c: Connection, modes: dict[str, Mode], running: Sequence[Container], now: int
    ) -> Alert:
        mode = modes.get(c.src) if c.src_kind == "group" else modes.get(c.dst)
        container = next((x for x in running if group_id(x) == c.src), None)
        target = f"{c.dst}:{c.port}/{c.protocol}"
        return new_alert(
            rule=RULE_NAME,
            priority=Priority.WARNING,
            text=f"Connection outside the learned firewall rules ({c.src} -> {target}, "
            f"mode {mode})",
            ts=now,
            fields={
                "firewall.src": c.src,
                "firewall.dst": c.dst,
                "firewall.port": c.port,
                "firewall.protocol": c.protocol,
                "firewall.mode": str(mode),
                "firewall.action": "blocked" if mode == Mode.PROTECT else "alert",
            },  # fmt: skip
            source="firewall",
            tags=["network", "firewall", "T1046"],
            hostname=THIS_HOST,
            host_id=self._host_id,
            container_id=container.id if container else "",
        )
