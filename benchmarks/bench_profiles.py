"""Profiles and protect mode: what they cost and how soon they are usable.

- exec latency inside a real podman container with protect's exec guard on vs off
  (ABBA blocks of EXECS posix_spawn + wait of /usr/bin/true; goal <= 50 us added per exec);
- agent memory: RSS added by ProfileDetector state for 200 containers in 200 groups with
  simulated profiles (goal: the agent stays <= 150 MB; its peak without profiles is
  bench_sensor_rss's figure);
- time from a container's first start to a usable profile: the whole agent (eBPF, profile
  detector) and a real platform, from `podman run` returning until the platform's stored
  profile holds the entrypoint;
- with --quiet-minutes N: a learned web and a client container under their normal load
  (the client's requests to the web, the operators' commands in the web) for N minutes in
  monitor, the agent's firewall on (`firewall: true`), both groups' process and network
  modes in monitor; prints the process and the firewall alerts raised (goal 0 of each;
  the issue's 5 minutes; the test suite runs 30 s of the process half).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.platform_runner import PlatformRunner  # noqa: E402
from tests.support.podman import Podman  # noqa: E402
from tests.support.tools_image import build_tools_image  # noqa: E402

from benchmarks.corpus import CORPUS  # noqa: E402
from stockade.agent import Agent, AgentConfig  # noqa: E402
from stockade.agent.firewall_sync import RULE_NAME as FIREWALL_RULE  # noqa: E402
from stockade.model import Container, Event, Process  # noqa: E402
from stockade.model.events import Ancestor, FdInfo  # noqa: E402
from stockade.profiles.detector import DEVIATION_RULE, DRIFT_RULE, ProfileDetector  # noqa: E402
from stockade.profiles.groups import GROUP_LABEL, GroupId  # noqa: E402
from stockade.profiles.guard import ExecGuard  # noqa: E402
from stockade.profiles.modes import GroupState, Mode  # noqa: E402
from stockade.profiles.profile import Behaviour, Kind, Profile, merged  # noqa: E402
from stockade.profiles.verdict import ExecVerdict, exec_verdict  # noqa: E402

EXECS = 400
BLOCKS = 10
CONTAINERS = 200
DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"
SPAWN_LOOP = (
    "import os,time\n"
    f"n={EXECS}\n"
    "times=[]\n"
    "for _ in range(n):\n"
    "    t=time.perf_counter_ns()\n"
    "    os.waitpid(os.posix_spawn('/usr/bin/true', ['true'], {}), 0)\n"
    "    times.append(time.perf_counter_ns()-t)\n"
    "print(' '.join(str(t // 1000) for t in times))\n"
)


def _tools_image(podman: Podman, workdir: Path) -> str:
    debian = podman.load_image(CORPUS / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    return build_tools_image(podman, debian, workdir)


def _spawn_us(podman: Podman, container: str) -> list[int]:
    return [int(t) for t in podman.exec(container, "python3", "-c", SPAWN_LOOP).split()]


def _p99(values: list[int]) -> float:
    return statistics.quantiles(values, n=100)[98]


def bench_exec_latency(podman: Podman, image: str) -> None:
    """Per-exec latency with the guard on and off, ABBA blocks."""
    container = podman.run_detached(image, "sleep", "600")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", container).stdout)
    allowed = ("/usr/bin/true", "/usr/bin/python3.11", "/usr/bin/sleep")
    profile = merged(Profile(group=GroupId("bench")), [Behaviour(Kind.EXEC, p) for p in allowed])

    def decide(_cid: str, path: str, upper: bool, file_hash: object) -> ExecVerdict:
        return exec_verdict(profile, path, upper, file_hash)  # type: ignore[arg-type]

    guard = ExecGuard(decide, lambda *_: None)
    on: list[int] = []
    off: list[int] = []
    load = os.getloadavg()[0]
    try:
        _spawn_us(podman, container)  # warm caches
        for block in range(BLOCKS):
            for guarded in (False, True) if block % 2 == 0 else (True, False):
                if guarded:
                    guard.protect(container, pid)
                    on += _spawn_us(podman, container)
                    guard.release(container)
                else:
                    off += _spawn_us(podman, container)
    finally:
        guard.close()
        podman.remove(container)
    load = max(load, os.getloadavg()[0])
    median_off, median_on = statistics.median(off), statistics.median(on)
    print(f"exec (posix_spawn+wait of /usr/bin/true in a container, {EXECS} x {BLOCKS} blocks,")
    print(f"  ABBA; load average up to {load:.1f}):")
    print(f"  guard off: median {median_off:.0f} us, p99 {_p99(off):.0f} us")
    print(f"  guard on:  median {median_on:.0f} us, p99 {_p99(on):.0f} us")
    print(
        f"  added per exec: {median_on - median_off:+.0f} us median, "
        f"{_p99(on) - _p99(off):+.0f} us p99 (goal <= 50 us)"
    )


def _simulated_events(index: int) -> list[Event]:
    container = Container(id=f"{index:064x}", name=f"c{index}", image_repository=f"repo/app{index}")
    events = []
    for n in range(40):
        proc = Process(pid=1000 + n, exepath=f"/usr/bin/tool{n}", uid=n % 3)
        parent = (Ancestor(pid=1, exepath=f"/usr/bin/tool{(n + 1) % 40}"),)
        events.append(Event(type="execve", ts=1, proc=proc, container=container, ancestors=parent))
    for n in range(30):
        fd = FdInfo(type="file", name=f"/var/lib/app{index}/data{n}.db", flags=0o101)
        events.append(Event(type="openat", ts=1, proc=Process(pid=2), container=container, fd=fd))
    for n in range(10):
        fd = FdInfo(type="ipv4", dip=f"10.88.{index % 250}.{n + 1}", dport=5432 + n)
        events.append(Event(type="connect", ts=1, proc=Process(pid=3), container=container, fd=fd))
    return events


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_rss() -> None:
    """RSS added by 200 containers' learned profiles in one ProfileDetector."""
    events = [_simulated_events(i) for i in range(CONTAINERS)]
    before = _rss_kb()
    detector = ProfileDetector(hasher=lambda e: "sha256:" + f"{hash(e.proc.exepath):x}" * 4)
    for batch in events:
        for event in batch:
            detector.inspect(event)
    detector.take_learned()
    groups = len(detector.book.profiles)
    behaviours = sum(len(p.behaviours()) for p in detector.book.profiles.values())
    for state in list(detector.book.states):  # all in monitor: judged, nothing new
        detector.book.set_state(state, GroupState(first_seen_ns=0, process=Mode.MONITOR))
    started = time.perf_counter()
    judged = 0
    for batch in events:
        for event in batch:
            assert not detector.inspect(event)
            judged += 1
    per_event_us = (time.perf_counter() - started) / judged * 1e6
    added = (_rss_kb() - before) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"profiles of {CONTAINERS} containers ({groups} groups, {behaviours} behaviours):")
    print(f"  RSS added: {added:.1f} MB (this process's peak {peak:.0f} MB)")
    print(f"  judging a learned event: {per_event_us:.1f} us")


def bench_time_to_profile(podman: Podman, image: str, workdir: Path, quiet_minutes: float) -> None:
    """From a container's first start to its entrypoint in the platform's stored profile."""
    platform = PlatformRunner(workdir / "platform").start()
    config = platform.agent_config(
        workdir / "agent",
        detectors=("profile",),
        firewall=bool(quiet_minutes),  # the quiet run judges the web's and client's flows too
    )
    stop_agent = _run_agent(config)
    try:
        with contextlib.closing(platform.login()) as admin:
            started = time.monotonic()
            web = podman.run_detached(
                image, "python3", "-m", "http.server", "8080",
                extra=("--label", f"{GROUP_LABEL}=bench-web"),
            )  # fmt: skip
            gid = ""
            while time.monotonic() - started < 300:
                found = [
                    g["id"] for g in admin.get("/api/v1/groups").json() if g["name"] == "bench-web"
                ]
                gid = found[0] if found else ""
                answer = admin.get(f"/api/v1/profiles/{gid}") if gid else None
                if _holds_entrypoint(answer):
                    break
                time.sleep(0.2)
            print(
                f"first start -> usable profile at the platform: {time.monotonic() - started:.1f} s"
            )
            if quiet_minutes:
                _quiet_run(podman, admin, web, gid, quiet_minutes)
    finally:
        stop_agent()
        platform.stop()


def _holds_entrypoint(answer: httpx.Response | None) -> bool:
    if answer is None or answer.status_code != 200:
        return False
    return "/usr/bin/python3.11" in answer.json()["items"].get("executables", [])


# The client's normal traffic: a request to the web every 0.2 s, for as long as it runs.
CLIENT_LOOP = (
    "import sys, time, urllib.request\n"
    "while True:\n"
    "    try:\n"
    "        urllib.request.urlopen(f'http://{sys.argv[1]}:8080/', timeout=10).read()\n"
    "    except OSError:\n"
    "        pass\n"
    "    time.sleep(0.2)\n"
)


def _group(admin: httpx.Client, name: str) -> str:
    """The id of the group named `name` at the platform, waiting for it to be reported."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = [g["id"] for g in admin.get("/api/v1/groups").json() if g["name"] == name]
        if found:
            return str(found[0])
        time.sleep(0.5)
    raise SystemExit(f"the group {name} was not reported within 120 s")


def _learned(admin: httpx.Client, client: str, web: str) -> bool:
    rules = admin.get("/api/v1/firewall/rules").json()
    return any((r["src"], r["dst"], r["port"]) == (client, web, 8080) for r in rules)


def _quiet_run(podman: Podman, admin: httpx.Client, web: str, gid: str, minutes: float) -> None:
    ip = podman.cmd("inspect", "-f", "{{.NetworkSettings.IPAddress}}", web).stdout.decode().strip()
    image = podman.cmd("inspect", "-f", "{{.ImageName}}", web).stdout.decode().strip()
    podman.run_detached(image, "python3", "-c", CLIENT_LOOP, ip,
                        extra=("--label", f"{GROUP_LABEL}=bench-client"))  # fmt: skip
    client_gid = _group(admin, "bench-client")

    def load() -> None:
        podman.exec(web, "sh", "-c", "ls / >/dev/null")
        podman.exec(web, "python3", "-c", "print(6 * 7)")
        time.sleep(1)  # the client's requests go on meanwhile

    for _ in range(3):
        load()
    deadline = time.monotonic() + 120
    while not _learned(admin, client_gid, gid) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(10)  # learned and stored
    for group in (gid, client_gid):
        answer = admin.put(
            f"/api/v1/groups/{group}/mode", json={"process": "monitor", "network": "monitor"}
        )
        assert answer.status_code == 200
    time.sleep(5)  # pushed to the agent
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        load()
    time.sleep(60)  # the agent's backlog
    groups = {gid, client_gid}
    process = [
        a
        for rule in (DEVIATION_RULE, DRIFT_RULE)
        for a in admin.get("/api/v1/alerts", params={"rule": rule}).json()["items"]
        if a["output_fields"].get("profile.group") in groups
    ]
    firewall = [
        a
        for a in admin.get("/api/v1/alerts", params={"rule": FIREWALL_RULE}).json()["items"]
        if {a["output_fields"].get("firewall.src"), a["output_fields"].get("firewall.dst")} & groups
    ]
    print(
        f"quiet run: {minutes:g} min of normal load (web + client) in monitor -> "
        f"{len(process)} process alerts, {len(firewall)} firewall alerts (goal 0 and 0)"
    )
    seen = [
        f
        for f in admin.get("/api/v1/flows").json()["flows"]
        if (f["src"], f["dst"], f["port"]) == (client_gid, gid, 8080)
    ]
    counted, bad = sum(f["count"] for f in seen), sum(f["violations"] for f in seen)
    learned = _learned(admin, client_gid, gid)
    print(f"  client -> web:8080 learned: {learned}, connections: {counted}, violations: {bad}")
    for alert in process + firewall:
        print(f"  {alert['output']}")


def _run_agent(config: AgentConfig) -> Callable[[], None]:
    import threading

    agent, stop = Agent(config), threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    agent.ready.wait(60)

    def stopper() -> None:
        stop.set()
        thread.join(60)

    return stopper


def main() -> None:
    """Run the three figures (and the quiet run when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet-minutes", type=float, default=0.0)
    parser.add_argument("--only", choices=("exec", "rss", "profile"), default=None)
    args = parser.parse_args()
    podman = Podman()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if args.only in (None, "rss"):
                bench_rss()
            if args.only in (None, "exec", "profile"):
                image = _tools_image(podman, workdir / "image")
                if args.only in (None, "exec"):
                    bench_exec_latency(podman, image)
                if args.only in (None, "profile"):
                    bench_time_to_profile(podman, image, workdir, args.quiet_minutes)
    finally:
        podman.remove_started()


if __name__ == "__main__":
    main()
