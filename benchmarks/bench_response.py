"""Alert -> response action completed: median and p99 for kill_container and freeze_container.

Two figures per action, on real podman containers:
- responder: an alert handed to the agent's responder (as the pipeline hands each alert
  it makes) until the policy's action ended (the record's completion time), 30 samples;
- agent: the whole agent (eBPF sensor, context, rules, responder) against a real platform,
  a policy killing or freezing the container of a reverse shell: from the kernel's exec
  event (its timestamp), and from the moment `podman exec` was issued (podman's own exec
  start-up included), until the action ended; and from the kernel's event to the alert
  reaching the responder (the sensor, context and rules part of it); 15 samples;
- user order: `POST /api/v1/actions` (waiting for the end) until its answer carries the
  agent's result, through a real platform and the agent's order channel; 30 samples.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.order_agent import order_agent  # noqa: E402
from tests.support.platform_runner import PlatformRunner  # noqa: E402
from tests.support.podman import Podman  # noqa: E402

from benchmarks.corpus import CORPUS  # noqa: E402
from stockade.agent import Agent  # noqa: E402
from stockade.agent.action_journal import ActionJournal  # noqa: E402
from stockade.agent.responder import Responder  # noqa: E402
from stockade.model import Alert, Container, Event, Host, Process  # noqa: E402
from stockade.model.actions import ActionRecord, ActionStatus, ActionTarget  # noqa: E402
from stockade.respond.base import ActionContext, perform  # noqa: E402
from stockade.respond.policy_load import parse_policies  # noqa: E402

SAMPLES = 30
AGENT_SAMPLES = 15
ORDER_SAMPLES = 30
MISS_AFTER_S = 10.0
ACTIONS = ("freeze_container", "kill_container")  # freeze first: a killed one is gone
RULE = "Reverse shell or netcat execution"
DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"


def _policy(action: str, rule: str) -> str:
    return (
        f'policies: [{{name: bench-{action}, match: {{rules: ["{rule}"]}}, actions: [{action}]}}]'
    )


def _ended(
    journal: ActionJournal, matches: Callable[[ActionRecord], bool], timeout_s: float = 30
) -> ActionRecord | None:
    """The first ended record `matches` accepts (polled: the record's own time is measured)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for record in journal.unreported():
            if matches(record):
                if record.status != ActionStatus.DONE:
                    raise SystemExit(f"{record.action} failed: {record.error}")
                return record
        time.sleep(0.001)
    return None


def _for_alert(alert_id: str) -> Callable[[ActionRecord], bool]:
    return lambda record: record.trigger.alert_id == alert_id


def _for_container(container_id: str, action: str) -> Callable[[ActionRecord], bool]:
    return lambda record: record.target.container_id == container_id and record.action == action


def _alert(rule: str) -> Alert:
    return Alert(
        uuid=str(uuid.uuid4()),
        output="bench",
        priority="Critical",
        rule=rule,
        time="2026-01-01T00:00:00.000000000Z",
        output_fields={},
    )


def responder_figures(podman: Podman, image: str, tmp: Path) -> dict[str, list[float]]:
    """Alert offered -> action ended, per action, on SAMPLES busybox containers."""
    containers = [podman.run_detached(image, "sleep", "3600") for _ in range(SAMPLES)]
    context = ActionContext(tmp / "respond")
    journal = ActionJournal(tmp / "journal")
    figures: dict[str, list[float]] = {}
    for action in ACTIONS:
        responder = Responder(journal, context, parse_policies(_policy(action, "bench"), "bench"))
        figures[action] = []
        for container in containers:
            alert = _alert("bench")
            event = Event(
                type="execve",
                ts=1,
                proc=Process(pid=1, name="sh"),
                container=Container(id=container),
            )
            offered = time.time_ns()
            responder.offer(alert, event)
            record = _ended(journal, _for_alert(alert.uuid))
            if record is None:
                raise SystemExit(f"{action} did not end within 30 s")
            figures[action].append((record.completed_at - offered) / 1e9)
            if action == "freeze_container":
                perform("thaw_container", ActionTarget(container_id=container), context)
        responder.close()
    journal.close()
    podman.remove_started()
    return figures


Figures = dict[str, list[float]]


MEASURES = ("kernel_event_to_action", "kernel_event_to_alert", "podman_exec_to_action")


def agent_figures(podman: Podman, tmp: Path) -> dict[str, Figures]:
    """Through the whole agent, per measure and action: from `podman exec` of a reverse
    shell, and from the kernel's exec event, to the policy's action ended; and from the
    kernel's event to the alert reaching the responder (sensor, context and rules)."""
    image = podman.load_image(CORPUS / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    figures: dict[str, Figures] = {measure: {} for measure in MEASURES}
    platform = PlatformRunner(tmp / "platform").start()
    try:
        for action in ACTIONS:
            policy = tmp / f"{action}.yaml"
            policy.write_text(_policy(action, RULE))
            config = platform.agent_config(tmp / f"agent-{action}", policies=(policy,))
            for measure, values in _run_agent(podman, image, Agent(config), action).items():
                figures[measure][action] = values
    finally:
        platform.stop()
    return figures


def _run_agent(podman: Podman, image: str, agent: Agent, action: str) -> dict[str, list[float]]:
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        if not agent.ready.wait(60):
            raise SystemExit("the agent did not start within 60 s")
        responder = agent.responder
        assert responder is not None
        event_ts: dict[str, int] = {}
        offer = responder.offer

        def timed_offer(alert: Alert, event: Event) -> None:
            event_ts.setdefault(alert.uuid, event.ts)
            offer(alert, event)

        setattr(responder, "offer", timed_offer)  # noqa: B010 (the pipeline reads it per batch)
        journal = responder.journal
        containers = [podman.run_detached(image, "sleep", "3600") for _ in range(AGENT_SAMPLES)]
        found: dict[str, list[float]] = {measure: [] for measure in MEASURES}
        for container in containers:
            issued = time.time_ns()
            podman.cmd(
                "exec", "-d", container, "bash", "-c", "bash -i >& /dev/tcp/127.0.0.1/9 0>&1"
            )
            record = _ended(journal, _for_container(container, action), MISS_AFTER_S)
            if record is None:  # no alert, or no action: counted, shown as a miss
                print(f"{action}: no action within {MISS_AFTER_S:g} s of the exec in {container}")
                continue
            ts = event_ts[record.trigger.alert_id]
            found["kernel_event_to_action"].append((record.completed_at - ts) / 1e9)
            found["kernel_event_to_alert"].append((record.requested_at - ts) / 1e9)
            found["podman_exec_to_action"].append((record.completed_at - issued) / 1e9)
        podman.remove_started()
        return found
    finally:
        stop.set()
        thread.join(60)


def order_figures(tmp: Path) -> dict[str, list[float]]:
    """A user's order (`POST /api/v1/actions`, waiting for the end) -> its result in the
    answer, through a real platform and the agent's order channel: kill_process on real
    processes, ORDER_SAMPLES times."""
    platform = PlatformRunner(tmp / "order-platform").start()
    host = Host(id="bench-orders", hostname="bench-orders")
    latencies = []
    try:
        with (
            order_agent(platform, tmp / "order-agent", host) as agent,
            contextlib.closing(platform.login()) as admin,  # login() hands an open client
        ):
            for _ in range(ORDER_SAMPLES):
                victim = subprocess.Popen(["sleep", "600"])
                body = {
                    "action": "kill_process",
                    "agent_id": agent.agent_id,
                    "target": {"pid": victim.pid},
                    "wait_s": 10,
                }
                started = time.monotonic()
                answer = admin.post("/api/v1/actions", json=body).json()
                latencies.append(time.monotonic() - started)
                if answer["status"] != "done":
                    raise SystemExit(f"order not done: {answer}")
                victim.wait()
    finally:
        platform.stop()
    return {"kill_process": latencies}


def _report(kind: str, figures: dict[str, list[float]], goal_ms: int | None = 1000) -> None:
    for action, values in figures.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{kind}_{action}_samples: {len(values)}")
        if not values:
            continue
        print(f"{kind}_{action}_median: {statistics.median(values) * 1000:.1f} ms")
        note = f" (goal <= {goal_ms} ms)" if goal_ms else ""
        print(f"{kind}_{action}_p99: {p99 * 1000:.1f} ms{note}")


def main() -> None:
    """Measure and print the figures."""
    podman = Podman()
    with tempfile.TemporaryDirectory() as tmp:
        image = podman.build_busybox_image(Path(tmp))
        _report("alert_to_action", responder_figures(podman, image, Path(tmp)))
        for measure, figures in agent_figures(podman, Path(tmp)).items():
            _report(measure, figures, 1000 if measure == "kernel_event_to_action" else None)
        _report("user_order_to_result_shown", order_figures(Path(tmp)), 2000)


if __name__ == "__main__":
    main()
