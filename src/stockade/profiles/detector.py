"""`ProfileDetector`: learned profiles and drift as a Detector (id "profile").

Each event's behaviours are judged by the `ProfileBook`; each deviation becomes one
alert naming what was new, its group and the mode it was judged in. In protect the
alert says what was done about it (`profile.action`, why in `profile.reason`): refused
before it ran by the exec guard, or killed at exec where no permission event stopped it
(a memfd, or a container the guard was not on yet: its entrypoint and first execs).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from stockade.detect.base import DETECTORS, DetectorConfig
from stockade.model import Alert, Event, Priority, Process
from stockade.model.alerts import THIS_HOST, new_alert
from stockade.model.entities import Container
from stockade.profiles.book import Deviation, ProfileBook
from stockade.profiles.groups import GroupId, workload_group
from stockade.profiles.imagefiles import ImageFiles, image_drift
from stockade.profiles.modes import Mode
from stockade.profiles.observe import EVENT_TYPES, EXEC_TYPES, behaviours_of
from stockade.profiles.profile import Behaviour, Kind
from stockade.profiles.verdict import ALLOW, ExecVerdict, exec_verdict
from stockade.profiles.wire import LearnedGroup, LearnedReport, ProfilePush

DEVIATION_RULE = "Behaviour outside the learned profile"
DRIFT_RULE = "Container drift: executable not from the image"

MEMFD_REASON = "run from memory (a memfd): no file a permission event could refuse"
UNGUARDED_REASON = "it ran before the exec guard was on its container"
ExeHasher = Callable[[Event], str]  # "sha256:..." of an exec's executable, "" if unknown


class ProfileDetector:
    """Learns each workload group's behaviour and alerts on what is outside it."""

    def __init__(
        self,
        book: ProfileBook | None = None,
        hasher: ExeHasher | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.book = book or ProfileBook()
        self.hasher = hasher
        self.image_files: ImageFiles | None = None  # drift judged against the image's files
        self._clock = clock
        self._lock = threading.Lock()  # the agent's profile sync thread touches the book too
        self.containers: dict[str, Container] = {}  # seen, by id
        self.on_container: Callable[[Container], None] | None = None  # a new one was seen
        self.on_kill: Callable[[Event], None] | None = None  # protect, where refusing cannot
        self._refusals: deque[Alert] = deque()  # from the exec guard's thread

    def verdict(
        self, container_id: str, path: str, on_upper: bool, file_hash: Callable[[], str]
    ) -> ExecVerdict:
        """The exec guard's question: may this container run `path` now?"""
        with self._lock:
            container = self.containers.get(container_id)
            if container is None:
                return ALLOW  # not seen yet: nothing learned for it either
            group = self.book.group_of_container(container).id
            if self.book.modes(group, self._clock()).process is not Mode.PROTECT:
                return ALLOW
            profile = self.book.profile(group)
        drifted = self._drifted(container, path, on_upper, file_hash)
        return exec_verdict(profile, path, drifted, file_hash)

    def _drifted(
        self, container: Container, path: str, on_upper: bool, file_hash: Callable[[], str]
    ) -> bool:
        """Drift against the image's own file where it can be read, else the upper layer."""
        if self.image_files is None:
            return on_upper
        image_hash = self.image_files.sha256(
            container.id, container.pid, path, container.image_digest
        )
        return image_drift(on_upper, image_hash, file_hash)

    def process_mode(self, container: Container) -> Mode:
        """The process mode of the container's group now."""
        with self._lock:
            group = self.book.group_of_container(container).id
            return self.book.modes(group, self._clock()).process

    def refused(self, container_id: str, path: str, verdict: ExecVerdict) -> None:
        """Record an exec the guard refused: one alert per group and path."""
        container = self.containers.get(container_id)
        if container is None:
            return
        proc = Process(pid=0, exepath=path)
        event = Event(type="execve", ts=self._clock(), proc=proc, container=container, res=-1)
        with self._lock:
            group = self.book.group_of_container(container).id
            deviations = self.book.report(
                group, Behaviour(Kind.EXEC, path), Mode.PROTECT, drift=verdict.drift
            )
        if deviations:
            self._refusals.append(deviation_alert(event, deviations, verdict.reason))

    def apply(self, push: ProfilePush) -> None:
        """Take the profiles and modes the platform pushed."""
        with self._lock:
            self.book.policy = push.policy
            for pushed in push.groups:
                self.book.set_state(pushed.profile.group, pushed.state)
                self.book.replace(pushed.profile)

    def take_learned(self) -> LearnedReport:
        """What was learned since the last call, by group, to send to the platform."""
        with self._lock:
            learned = self.book.take_learned()
            groups = [
                LearnedGroup(
                    id=group,
                    name=self.book.names.get(group, group),
                    first_seen_ns=self.book.states[group].first_seen_ns,
                    behaviours=sorted(behaviours),
                    selector=self.book.selectors.get(group),
                )
                for group, behaviours in learned.items()
            ]
        return LearnedReport(groups=groups)

    def give_back(self, report: LearnedReport) -> None:
        """Keep a report the platform did not take, to be sent again."""
        with self._lock:
            for group in report.groups:
                gid = GroupId(group.id)
                self.book.learned.setdefault(gid, set()).update(group.behaviours)

    def event_types(self) -> frozenset[str] | None:
        """Execs, opens, connects and listens."""
        return EVENT_TYPES

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts for what this event did that its group's profile does not hold."""
        refusals = self._drain_refusals()
        if event.container.is_host or event.type not in EVENT_TYPES:
            return refusals
        known = self.containers.get(event.container.id)
        if known is None or _newer(known, event.container):
            self.containers[event.container.id] = event.container
            if self.on_container is not None:
                self.on_container(event.container)
        exe_hash = ""
        if self.hasher is not None and event.type in EXEC_TYPES and event.res >= 0:
            exe_hash = self.hasher(event)
        behaviours = behaviours_of(event, exe_hash)
        drifted = None
        if exe_hash and not event.proc.exe_from_memfd:
            drifted = self._drifted(
                event.container, event.proc.exepath, event.proc.exe_upper_layer, lambda: exe_hash
            )
        with self._lock:
            now = self._clock()
            deviations = self.book.judge(event, behaviours, now, drifted)
            kill = self._kill_verdict(event, behaviours, drifted, exe_hash, now)
        why = kill.reason if kill is not None else ""
        alerts = [deviation_alert(event, deviations, why, kill is not None)] if deviations else []
        if kill is not None and self.on_kill is not None:
            self.on_kill(event)  # every such exec in protect, though only the first is alerted
        return refusals + alerts

    def _kill_verdict(
        self,
        event: Event,
        behaviours: list[Behaviour],
        drifted: bool | None,
        exe_hash: str,
        now: int,
    ) -> ExecVerdict | None:
        """Why protect kills an exec that ran (no permission event refused it), or None."""
        if self.on_kill is None or not ran_in_container(event):
            return None
        path = event.proc.exepath
        if Behaviour(Kind.EXEC, path) not in behaviours:
            return None  # the runtime starting the container or an exec session
        group = self.book.group_of(event).id
        if self.book.modes(group, now).process is not Mode.PROTECT:
            return None
        if event.proc.exe_from_memfd:
            return ExecVerdict(False, MEMFD_REASON, drift=True)
        if drifted is None:
            drifted = event.proc.exe_upper_layer
        verdict = exec_verdict(self.book.profile(group), path, drifted, lambda: exe_hash)
        if verdict.allow:
            return None
        return ExecVerdict(False, f"{verdict.reason}; {UNGUARDED_REASON}", verdict.drift)

    def _drain_refusals(self) -> list[Alert]:
        drained = []
        while self._refusals:
            drained.append(self._refusals.popleft())
        return drained


def ran_in_container(event: Event) -> bool:
    """Whether the event is an exec in a container that succeeded (the program runs)."""
    return event.type in EXEC_TYPES and event.res >= 0 and not event.container.is_host


def action_of(deviation: Deviation, event: Event, killed: bool = False) -> str:
    """What protect did: refused by the exec guard (the exec failed), killed at exec (it
    ran: a memfd, or its container was not guarded yet); else only an alert (an exec that
    ran is never recorded as refused)."""
    if deviation.mode is not Mode.PROTECT or event.type not in EXEC_TYPES:
        return "alert"
    if killed:
        return "killed"
    return "refused" if event.res < 0 else "alert"


def deviation_alert(
    event: Event, deviations: list[Deviation], why: str = "", killed: bool = False
) -> Alert:
    """One alert for what one event did outside the profile (drift first), naming it all
    (`killed`: protect killed the process at exec, `why` says why)."""
    lead = next((d for d in deviations if d.drift), deviations[0])
    group = workload_group(event.container)
    rule = DRIFT_RULE if lead.drift else DEVIATION_RULE
    what = "; ".join(
        d.behaviour.describe() for d in [lead, *(d for d in deviations if d is not lead)]
    )
    priority = Priority.CRITICAL if lead.mode is Mode.PROTECT else Priority.WARNING
    action = action_of(lead, event, killed)
    because = f" action={action} reason={why}" if why else ""
    text = (
        f"{rule} (new {what} group={group.name} mode={lead.mode.value} "
        f"proc.exepath={event.proc.exepath} container_id={event.container.short_id}{because})"
    )
    fields: dict[str, object] = {
        "profile.group": group.id,
        "profile.group_name": group.name,
        "profile.kind": lead.behaviour.kind.value,
        "profile.new": lead.behaviour.value,
        "profile.all_new": what,
        "profile.mode": lead.mode.value,
        "profile.action": action,
        "profile.reason": why,
        "proc.exepath": event.proc.exepath,
        "proc.pid": event.proc.pid,
        "container.id": event.container.short_id,
        "container.name": event.container.name,
    }
    return new_alert(
        rule=rule,
        priority=priority,
        text=text,
        ts=event.ts,
        fields=fields,
        source="syscall",
        tags=["profile", "drift"] if lead.drift else ["profile"],
        hostname=THIS_HOST,
        host_id=event.host_id,
        container_id=event.container.id,
        event_seq=event.seq,
    )


def _build(config: DetectorConfig) -> ProfileDetector:  # noqa: ARG001 - no files to read
    return ProfileDetector()


DETECTORS.register("profile", _build)


def _newer(known: Container, seen: Container) -> bool:
    """Whether `seen` replaces the container kept: restarted (a new init process), or its
    metadata complete where the first event saw it still being resolved (its labels, and so
    its group, may only now be known)."""
    return bool(seen.pid and known.pid != seen.pid) or (seen.complete and not known.complete)
