"""Profiles on the whole agent (real eBPF sensor, real podman web container, real
platform): discover learns the web's processes, monitor raises one alert per new thing,
protect refuses an unknown executable before it runs while the learned ones keep working,
and drift (a binary copied in, an image binary overwritten in place) is alerted, then refused;
a container started in a protected group with an entrypoint outside the profile is killed."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from stockade.agent.oci_hook import install_hook
from stockade.agent.oci_hook_server import SOCKET_NAME
from stockade.model.entities import Container
from stockade.profiles.detector import DEVIATION_RULE, DRIFT_RULE, ProfileDetector
from stockade.profiles.groups import GROUP_LABEL, GroupId, group_id
from stockade.profiles.modes import Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, merged, to_yaml
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server, pytest.mark.ebpf]
GROUP_NAME = "profile-live-web"
# what the web's operators do in discover: a shell running ls, python3 one-liners
NORMAL = (("sh", "-c", "ls / >/dev/null"), ("python3", "-c", "print(6 * 7)"))
COPY_IN = "import shutil; shutil.copy('/usr/bin/ls', '/usr/local/bin/dropped')"
QUIET_S = 30.0
# what waits on the agent judging kernel events: on a busy host it may be a minute behind
# (its events queue, never drop)
AGENT_WAIT_S = 120.0
OVERWRITE = "import shutil; shutil.copy('/usr/bin/ls', '/usr/bin/tac')"


def _get(ip: str) -> int:
    with urllib.request.urlopen(f"http://{ip}:8080/", timeout=10) as answer:  # noqa: S310
        return int(answer.status)


def _alerts(admin: httpx.Client, rule: str, group: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get("/api/v1/alerts", params={"rule": rule}).json()["items"]
    return [a for a in items if a["output_fields"].get("profile.group") == group]


def _group_id(admin: httpx.Client, name: str) -> str:
    found = [g["id"] for g in admin.get("/api/v1/groups").json() if g["name"] == name]
    return str(found[0]) if found else ""


def _new(alert: dict[str, Any]) -> str:
    return str(alert["output_fields"]["profile.new"])


@dataclass(frozen=True)
class ProfiledHost:
    """A platform, an agent with the profile detector enrolled in it, and an admin client."""

    platform: PlatformRunner
    detector: ProfileDetector
    admin: httpx.Client
    hook_socket: Path


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProfiledHost]:
    """One platform and agent for this module's tests: each test labels a web container of
    its own group, and judges only that group's profile and alerts (an agent's start and
    stop, its eBPF programs attached and detached, cost seconds each)."""
    work = tmp_path_factory.mktemp("profiled-host")
    platform = PlatformRunner(work / "platform").start()
    try:
        config = platform.agent_config(work / "agent", detectors=("profile",))
        with AgentRunner(Agent(config)) as runner, contextlib.closing(platform.login()) as admin:
            [detector] = runner.agent.detectors
            assert isinstance(detector, ProfileDetector)
            yield ProfiledHost(platform, detector, admin, work / "agent" / SOCKET_NAME)
    finally:
        platform.stop()


def _set_mode(admin: httpx.Client, group: str, detector: ProfileDetector, mode: Mode) -> None:
    answer = admin.put(f"/api/v1/groups/{group}/mode", json={"process": mode.value})
    assert answer.status_code == 200, answer.text
    poll_until(
        lambda: detector.book.modes(GroupId(group), 0).process is mode,
        15,
        f"{mode.value} on the agent",
    )


def test_discover_monitor_protect_and_drift_on_a_web_container(
    host: ProfiledHost, podman: Podman, tools_image: str
) -> None:
    admin, detector = host.admin, host.detector
    web, ip = _start_web(podman, tools_image, GROUP_NAME)
    for command in NORMAL:
        podman.exec(web, *command)
    # discover: the entrypoint and the operators' commands reach the stored profile
    # other containers on this host have groups too: the web's is found by its label
    gid = poll_value(
        lambda: _group_id(admin, GROUP_NAME),
        bool,
        AGENT_WAIT_S,
        "the web's group at the platform",
    )
    poll_value(
        lambda: _executables(admin, gid),
        lambda found: {"/usr/bin/python3.11", "/usr/bin/ls", "/usr/bin/dash"} <= found,
        AGENT_WAIT_S,
        "python3, sh and ls in the web's stored profile",
    )
    assert not _alerts(admin, DEVIATION_RULE, gid)
    poll_until(
        lambda: detector.book.profile(GroupId(gid)).version > 0,
        15,
        "the stored profile pushed back",
    )

    _set_mode(admin, gid, detector, Mode.MONITOR)
    for _ in range(3):
        podman.exec(web, "id")  # new: one alert, however often it runs
    for command in NORMAL:
        podman.exec(web, *command)  # learned: quiet
    podman.exec(web, "python3", "-c", COPY_IN)
    podman.exec(web, "/usr/local/bin/dropped", "/")
    drift = poll_value(
        lambda: _alerts(admin, DRIFT_RULE, gid),
        bool,
        AGENT_WAIT_S,
        "the copied-in binary's drift alert",
    )
    assert [_new(a) for a in drift] == ["/usr/local/bin/dropped"]
    deviations = poll_value(
        lambda: _alerts(admin, DEVIATION_RULE, gid),
        lambda found: len(found) >= 2,
        AGENT_WAIT_S,
        "the new exec's and the new file's alerts",
    )
    found = sorted((a["output_fields"]["profile.kind"], _new(a)) for a in deviations)
    assert found == [
        ("executables", "/usr/bin/id"),  # once, though it ran three times
        ("files_written", "/usr/local/bin/dropped"),  # the copy itself is new too
    ]
    assert all(a["count"] == 1 for a in deviations)

    _set_mode(admin, gid, detector, Mode.PROTECT)
    refused = poll_value(
        lambda: podman.cmd("exec", web, "id", check=False),
        lambda done: done.returncode != 0,
        15,
        "the exec guard on the web container",
    )
    assert b"not permitted" in refused.stderr
    for command in NORMAL:
        podman.exec(web, *command)  # learned processes keep working
    assert _try_get(ip) == 200
    dropped = podman.cmd("exec", web, "/usr/local/bin/dropped", check=False)
    assert dropped.returncode != 0 and b"not permitted" in dropped.stderr
    # an image binary overwritten in place: refused although its path was in the image
    podman.exec(web, "python3", "-c", OVERWRITE)
    overwritten = podman.cmd("exec", web, "/usr/bin/tac", "/etc/hostname", check=False)
    assert overwritten.returncode != 0 and b"not permitted" in overwritten.stderr
    refusals = poll_value(
        lambda: [
            a
            for a in _alerts(admin, DRIFT_RULE, gid) + _alerts(admin, DEVIATION_RULE, gid)
            if a["output_fields"]["profile.action"] == "refused"
        ],
        lambda found: len(found) >= 3,
        AGENT_WAIT_S,
        "the refusals recorded at the platform",
    )
    assert {_new(a) for a in refusals} == {
        "/usr/bin/id",
        "/usr/local/bin/dropped",
        "/usr/bin/tac",
    }


def test_a_learned_profile_is_quiet_under_normal_load(
    host: ProfiledHost, podman: Podman, tools_image: str
) -> None:
    """The web under its normal load (requests, the operators' commands) learned, then the
    same load in monitor for QUIET_S raises nothing (the 5-minute run is bench_profiles)."""
    admin, detector = host.admin, host.detector
    web, ip = _start_web(podman, tools_image, f"{GROUP_NAME}-quiet")
    gid = poll_value(
        lambda: _group_id(admin, f"{GROUP_NAME}-quiet"), bool, AGENT_WAIT_S, "the web's group"
    )
    _normal_load(podman, web, ip, rounds=3)
    poll_value(
        lambda: _executables(admin, gid),
        lambda found: {"/usr/bin/python3.11", "/usr/bin/ls", "/usr/bin/dash"} <= found,
        AGENT_WAIT_S,
        "the normal load learned",
    )
    _set_mode(admin, gid, detector, Mode.MONITOR)
    deadline = time.monotonic() + QUIET_S
    rounds = 0
    while time.monotonic() < deadline:
        _normal_load(podman, web, ip, rounds=1)
        rounds += 1
    assert rounds >= 3
    podman.exec(web, "id")  # a marker: once its alert is stored, everything before is too
    marker = poll_value(
        lambda: _alerts(admin, DEVIATION_RULE, gid), bool, AGENT_WAIT_S, "the marker's alert"
    )
    assert [_new(a) for a in marker] == ["/usr/bin/id"]
    assert _alerts(admin, DRIFT_RULE, gid) == []


def _normal_load(podman: Podman, web: str, ip: str, rounds: int) -> None:
    for _ in range(rounds):
        for _ in range(20):
            assert _get(ip) == 200
        for command in NORMAL:
            podman.exec(web, *command)


def _start_web(podman: Podman, tools_image: str, group: str) -> tuple[str, str]:
    """A web container labelled into `group`, answering: its id and address."""
    web = podman.run_detached(
        tools_image,
        *("python3", "-m", "http.server", "8080"),
        extra=("--label", f"{GROUP_LABEL}={group}"),
    )
    ip = podman.cmd("inspect", "-f", "{{.NetworkSettings.IPAddress}}", web).stdout.decode().strip()
    poll_value(lambda: _try_get(ip), lambda s: s == 200, 30, "the web to answer")
    return web, ip


def _try_get(ip: str) -> int:
    try:
        return _get(ip)
    except OSError:
        return 0


def _executables(admin: httpx.Client, group: str) -> set[str]:
    answer = admin.get(f"/api/v1/profiles/{group}")
    return (
        set(answer.json()["items"].get("executables", [])) if answer.status_code == 200 else set()
    )


def _protect_before_start(
    admin: httpx.Client, detector: ProfileDetector, name: str, allowed: tuple[str, ...]
) -> str:
    """Put the labelled group `name` in protect with `allowed` as its profile, through the
    platform (as an operator would, before any container of it runs) so that no later push
    of the platform's view takes it back; its id, once the agent holds the mode."""
    gid = group_id(Container(id="0" * 64, labels={GROUP_LABEL: name}))
    profile = merged(Profile(group=GroupId(gid)), [Behaviour(Kind.EXEC, p) for p in allowed])
    answer = admin.put(f"/api/v1/profiles/{gid}", json={"yaml": to_yaml(profile)})
    assert answer.status_code == 200, answer.text
    _set_mode(admin, gid, detector, Mode.PROTECT)
    return gid


def _status(podman: Podman, container: str) -> str:
    return (
        podman.cmd("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container)
        .stdout.decode()
        .strip()
    )


def _actions(admin: httpx.Client, group: str) -> list[tuple[str, str]]:
    found = _alerts(admin, DRIFT_RULE, group) + _alerts(admin, DEVIATION_RULE, group)
    return sorted((_new(a), str(a["output_fields"]["profile.action"])) for a in found)


def test_an_unknown_entrypoint_in_a_protected_group_is_killed_at_exec(
    host: ProfiledHost, podman: Podman, tools_image: str
) -> None:
    """Protected before it starts: the entrypoint usually runs before the guard is on the
    container, so protect kills it at exec and records `killed`; the benign twin (its entrypoint and
    execs in the profile) runs on, its unknown exec later refused by the guard."""
    admin, detector = host.admin, host.detector
    victim_group, benign_group = f"{GROUP_NAME}-start-kill", f"{GROUP_NAME}-start-ok"
    victim_gid = _protect_before_start(admin, detector, victim_group, ("/usr/bin/python3.11",))
    benign_gid = _protect_before_start(
        admin, detector, benign_group, ("/usr/bin/sleep", "/usr/bin/true")
    )
    victim = podman.run_detached(
        tools_image, "sleep", "600", extra=("--label", f"{GROUP_LABEL}={victim_group}")
    )
    benign = podman.run_detached(
        tools_image, "sleep", "600", extra=("--label", f"{GROUP_LABEL}={benign_group}")
    )
    status = poll_value(
        lambda: _status(podman, victim),
        lambda s: s.startswith("exited"),  # "stopped" first, until podman cleaned up
        AGENT_WAIT_S,
        "the unknown entrypoint killed",
    )
    # Killed at exec (SIGKILL), or, when the agent judged one of runc's own events from the
    # new container first and put the guard on before the entrypoint's exec, refused (runc's
    # init exits 1): the entrypoint never runs on either way, and the choice is recorded.
    assert status in ("exited 137", "exited 1")
    choice = "killed" if status == "exited 137" else "refused"
    poll_value(
        lambda: _actions(admin, victim_gid),
        lambda found: ("/usr/bin/sleep", choice) in found,
        AGENT_WAIT_S,
        f"the entrypoint {choice} recorded at the platform",
    )
    podman.exec(benign, "/usr/bin/true")
    refused = poll_value(
        lambda: podman.cmd("exec", benign, "/usr/bin/id", check=False),
        lambda done: done.returncode != 0,
        AGENT_WAIT_S,
        "the exec guard on the benign container",
    )
    assert b"not permitted" in refused.stderr
    poll_value(
        lambda: _actions(admin, benign_gid),
        lambda found: ("/usr/bin/id", "refused") in found,
        AGENT_WAIT_S,
        "the benign container's refusal recorded (everything before it is judged)",
    )
    assert _status(podman, benign) == "running 0"
    assert not [a for a in _actions(admin, benign_gid) if a[1] == "killed"]


def test_the_oci_hook_guards_a_protected_container_before_its_entrypoint_runs(
    host: ProfiledHost, podman: Podman, tools_image: str, tmp_path: Path
) -> None:
    """With the agent's hook installed (a hooks dir of the test's own, not the host's), a
    protected group's container whose entrypoint is not in the profile fails to start
    (exec EPERM, recorded refused); its twin whose entrypoint is in the profile starts."""
    admin, detector = host.admin, host.detector
    # a deadline for a busy host: a hook that gave up would let the refused container start
    install_hook(tmp_path / "hooks", host.hook_socket, 15.0, fail_closed=True)
    hooked = Podman(("--hooks-dir", str(tmp_path / "hooks")))
    refused_group, started_group = f"{GROUP_NAME}-hook-refused", f"{GROUP_NAME}-hook-ok"
    refused_gid = _protect_before_start(admin, detector, refused_group, ("/usr/bin/python3.11",))
    started_gid = _protect_before_start(admin, detector, started_group, ("/usr/bin/sleep",))
    try:
        failed = hooked.run_detached(
            tools_image, "sleep", "600", extra=("--label", f"{GROUP_LABEL}={refused_group}")
        )  # the runtime reports the entrypoint's failed exec as the container's exit
        ended = poll_value(
            lambda: _status(podman, failed),
            lambda state: state.startswith("exited"),  # after "stopped": podman cleaned up
            30,
            "the refused container's end",
        )
        assert ended == "exited 1"  # runc: "exec /usr/bin/sleep: operation not permitted"
        started = hooked.run_detached(
            tools_image, "sleep", "600", extra=("--label", f"{GROUP_LABEL}={started_group}")
        )
        assert _status(podman, started) == "running 0"
        assert podman.cmd("exec", started, "/usr/bin/sleep", "0").returncode == 0
        refused = podman.cmd("exec", started, "/usr/bin/id", check=False)  # no event needed
        assert refused.returncode != 0 and b"not permitted" in refused.stderr
        hooked.cmd("restart", "-t", "0", started)  # a new rootfs mount, guarded at create again
        assert _status(podman, started) == "running 0"
        again = podman.cmd("exec", started, "/usr/bin/id", check=False)
        assert again.returncode != 0 and b"not permitted" in again.stderr
        poll_value(
            lambda: _actions(admin, refused_gid),
            lambda found: ("/usr/bin/sleep", "refused") in found,
            AGENT_WAIT_S,
            "the refused entrypoint recorded at the platform",
        )
        poll_value(
            lambda: _actions(admin, started_gid),
            lambda found: ("/usr/bin/id", "refused") in found,
            AGENT_WAIT_S,
            "the started container's refused exec recorded",
        )
    finally:
        hooked.remove_started()
