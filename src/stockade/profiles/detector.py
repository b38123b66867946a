"""`ProfileDetector`: learned profiles and drift as a Detector (id "profile").

Each event's behaviours are judged by the `ProfileBook`; each deviation becomes one
alert naming what was new, its group and the mode it was judged in. In protect the
alert says what was done about it (`profile.action`): refused before it ran by the exec
guard, or to be killed at exec where no permission event could stop it (memfd).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable

from stockade.detect.base import DETECTORS, DetectorConfig
from stockade.model import Alert, Event, Priority
from stockade.profiles.book import Deviation, ProfileBook
from stockade.profiles.groups import GroupId, workload_group
from stockade.profiles.modes import Mode
from stockade.profiles.observe import EVENT_TYPES, EXEC_TYPES, behaviours_of
from stockade.profiles.wire import LearnedGroup, LearnedReport, ProfilePush
from stockade.rules.output import clock_time, falco_time

DEVIATION_RULE = "Behaviour outside the learned profile"
DRIFT_RULE = "Container drift: executable not from the image"
_HOSTNAME = socket.gethostname()

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
        self._hasher = hasher
        self._clock = clock
        self._lock = threading.Lock()  # the agent's profile sync thread touches the book too

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
        if event.container.is_host or event.type not in EVENT_TYPES:
            return []
        exe_hash = ""
        if self._hasher is not None and event.type in EXEC_TYPES and event.res >= 0:
            exe_hash = self._hasher(event)
        behaviours = behaviours_of(event, exe_hash)
        with self._lock:
            deviations = self.book.judge(event, behaviours, self._clock())
        return [deviation_alert(event, d) for d in deviations]


def action_of(deviation: Deviation, event: Event) -> str:
    """What protect does: refused by the exec guard, or kill at exec (memfd); else alert."""
    if deviation.mode is not Mode.PROTECT:
        return "alert"
    if event.type in EXEC_TYPES and event.proc.exe_from_memfd:
        return "kill"
    return "refused" if event.type in EXEC_TYPES else "alert"


def deviation_alert(event: Event, deviation: Deviation) -> Alert:
    """The alert for one deviation, naming what was new, the group and the mode."""
    group = workload_group(event.container)
    rule = DRIFT_RULE if deviation.drift else DEVIATION_RULE
    what = deviation.behaviour.describe()
    priority = Priority.CRITICAL if deviation.mode is Mode.PROTECT else Priority.WARNING
    text = (
        f"{rule} (new {what} group={group.name} mode={deviation.mode.value} "
        f"proc.exepath={event.proc.exepath} container_id={event.container.short_id})"
    )
    fields: dict[str, object] = {
        "profile.group": group.id,
        "profile.group_name": group.name,
        "profile.kind": deviation.behaviour.kind.value,
        "profile.new": deviation.behaviour.value,
        "profile.mode": deviation.mode.value,
        "profile.action": action_of(deviation, event),
        "proc.exepath": event.proc.exepath,
        "proc.pid": event.proc.pid,
        "container.id": event.container.short_id,
        "container.name": event.container.name,
    }
    return Alert(
        uuid=str(uuid.uuid4()),
        output=f"{clock_time(event.ts)}: {priority.falco_name} {text}",
        priority=priority.falco_name,
        rule=rule,
        time=falco_time(event.ts),
        output_fields=fields,
        tags=["profile", "drift"] if deviation.drift else ["profile"],
        hostname=_HOSTNAME,
        host_id=event.host_id,
        container_id=event.container.id,
        event_seq=event.seq,
    )


def _build(config: DetectorConfig) -> ProfileDetector:  # noqa: ARG001 - no files to read
    return ProfileDetector()


DETECTORS.register("profile", _build)
