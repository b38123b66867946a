"""Profiles through a real platform: learned on the agent, versioned and edited through the
user API, pushed back with the groups' modes, and kept across agent and platform restarts."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from stockade.agent.enroll import Credentials
from stockade.agent.profile_sync import ProfileSync
from stockade.model import Event, Host, Process
from stockade.model.entities import Container
from stockade.model.events import Ancestor
from stockade.profiles.detector import DEVIATION_RULE, ProfileDetector
from stockade.profiles.groups import GROUP_LABEL, GroupId, group_id
from stockade.profiles.modes import Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, from_yaml, to_yaml
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = [pytest.mark.server]
WEB = Container(id="d" * 64, name="web", image_repository="localhost/web")
GROUP = group_id(WEB)
SYNC_S = 0.2


def _exec(path: str) -> Event:
    proc = Process(pid=7, exepath=path, uid=33)
    parent = (Ancestor(pid=1, exepath="/usr/bin/python3"),)
    return Event(type="execve", ts=1, proc=proc, container=WEB, ancestors=parent)


def _sync(platform: PlatformRunner, creds: Credentials, state: Path) -> ProfileSync:
    detector = ProfileDetector(hasher=lambda _e: "sha256:00")
    return ProfileSync(platform.agent_url, creds, detector, state, interval_s=SYNC_S)


def _detector(sync: ProfileSync) -> ProfileDetector:
    return sync._detector  # noqa: SLF001 - the test drives the detector the sync feeds


def _stored_profile(admin: httpx.Client) -> set[Behaviour]:
    answer = admin.get(f"/api/v1/profiles/{GROUP}")
    return (
        from_yaml(answer.json()["yaml"], "answer").behaviours()
        if answer.status_code == 200
        else set()
    )


def test_learned_profile_round_trip_modes_and_restarts(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    host = Host(id="host-profiles", hostname="profiles-node")
    creds = platform.credentials(state, host)
    sync = _sync(platform, creds, state).start()
    admin = platform.login()
    try:
        assert _detector(sync).inspect(_exec("/usr/bin/ls")) == []  # discover: learned
        learned = Behaviour(Kind.EXEC, "/usr/bin/ls")
        poll_until(lambda: learned in _stored_profile(admin), 10, "the learned exec stored")
        [group] = admin.get("/api/v1/groups").json()
        assert group["id"] == GROUP and group["process_mode"] == "discover"
        assert not group["process_mode_set"]

        answer = admin.put(f"/api/v1/groups/{GROUP}/mode", json={"process": "monitor"})
        assert answer.status_code == 200 and answer.json()["process_mode"] == "monitor"
        detector = _detector(sync)
        poll_until(
            lambda: detector.book.modes(GROUP, 0).process is Mode.MONITOR,
            10,
            "the monitor mode pushed to the agent",
        )
        assert detector.inspect(_exec("/usr/bin/ls")) == []
        assert {a.rule for a in detector.inspect(_exec("/usr/bin/id"))} == {DEVIATION_RULE}

        # edit: export, add /usr/bin/id, import as the next version; the agent goes quiet on it
        exported = admin.get(f"/api/v1/profiles/{GROUP}/yaml").text
        edited = exported.replace("executables:\n", "executables:\n- /usr/bin/id\n", 1)
        assert admin.put(f"/api/v1/profiles/{GROUP}", json={"yaml": edited}).status_code == 200
        versions = admin.get(f"/api/v1/profiles/{GROUP}/versions").json()
        assert [v["version"] for v in versions] == [2, 1]
        assert versions[0]["created_by"] == "admin"
        first = admin.get(f"/api/v1/profiles/{GROUP}", params={"version": 1}).json()
        assert first["version"] == 1 and "/usr/bin/id" not in first["items"]["executables"]
        old_yaml = admin.get(f"/api/v1/profiles/{GROUP}/yaml", params={"version": 1}).text
        assert learned in from_yaml(old_yaml, "v1").behaviours()  # the learned version
        assert Behaviour(Kind.EXEC, "/usr/bin/id") not in from_yaml(old_yaml, "v1").behaviours()
        poll_until(
            lambda: detector.book.profile(GROUP).has(Behaviour(Kind.EXEC, "/usr/bin/id")),
            10,
            "the edited profile pushed to the agent",
        )
        refused = admin.put(f"/api/v1/profiles/{GROUP}", json={"yaml": "group: other\n"})
        assert refused.status_code == 422 and "other" in refused.json()["detail"]
    finally:
        sync.stop()
        admin.close()

    platform.stop()
    # agent restart while the platform is away: the last push, from disk
    offline = _sync(platform, creds, state)
    assert _detector(offline).book.profile(GROUP).has(Behaviour(Kind.EXEC, "/usr/bin/id"))
    assert _detector(offline).book.modes(GROUP, 0).process is Mode.MONITOR
    platform.start()
    with contextlib.closing(platform.login()) as admin:
        assert Behaviour(Kind.EXEC, "/usr/bin/id") in _stored_profile(admin)
        assert admin.get(f"/api/v1/groups/{GROUP}").json()["process_mode"] == "monitor"


def test_modes_need_an_analyst_and_unknown_groups_are_404(platform: PlatformRunner) -> None:
    viewer = platform.add_user("viewer-profiles", "viewer")
    with contextlib.closing(viewer), contextlib.closing(platform.login()) as admin:
        assert admin.get("/api/v1/groups/nope").status_code == 404
        assert admin.put("/api/v1/groups/nope/mode", json={"process": "protect"}).status_code == 404
        bad = admin.put("/api/v1/groups/nope/mode", json={"process": "block"})
        assert bad.status_code == 422
        assert (
            viewer.put("/api/v1/groups/nope/mode", json={"process": "protect"}).status_code == 403
        )


def test_a_profile_imported_before_the_workload_runs_reaches_its_agents(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    shop = Container(id="e" * 64, name="shop", labels={GROUP_LABEL: "shop-web"})
    items = {
        Kind.EXEC: ["/usr/bin/ls"],
        Kind.EXEC_HASH: ["/usr/bin/ls sha256:00"],
        Kind.USER: ["33"],
    }
    prepared = to_yaml(Profile(group=GroupId("shop-web"), items=items))
    state = tmp_path / "agent"
    host = Host(id="host-import", hostname="import-node")
    creds = platform.credentials(state, host)
    with contextlib.closing(platform.login()) as admin:
        # by the label value the workload's containers will carry: the group is made
        answer = admin.put("/api/v1/profiles/shop-web", json={"yaml": prepared})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["group"], answer.json()["version"]) == (group_id(shop), 1)
        made = admin.get(f"/api/v1/groups/{group_id(shop)}").json()
        assert (made["name"], made["profile_version"]) == ("shop-web", 1)
        # by an id no agent has reported (as exported elsewhere)
        other = "localhost-api-0a1b2c3d"
        moved = to_yaml(Profile(group=GroupId(other), items={Kind.EXEC: ["/usr/bin/id"]}))
        assert admin.put(f"/api/v1/profiles/{other}", json={"yaml": moved}).status_code == 200
        assert admin.get(f"/api/v1/profiles/{other}").json()["items"]["executables"] == [
            "/usr/bin/id"
        ]
        mismatch = admin.put("/api/v1/profiles/shop-api", json={"yaml": prepared})
        assert mismatch.status_code == 422
        assert (
            admin.put(f"/api/v1/groups/{group_id(shop)}/mode", json={"process": "monitor"}).json()[
                "process_mode"
            ]
            == "monitor"
        )

    # An agent that then sees the workload judges it by the imported profile at once.
    sync = _sync(platform, creds, state).start()
    try:
        detector = _detector(sync)
        poll_until(
            lambda: detector.book.profile(group_id(shop)).has(Behaviour(Kind.EXEC, "/usr/bin/ls")),
            10,
            "the imported profile pushed to the agent",
        )

        def run(path: str) -> Event:
            proc = Process(pid=7, exepath=path, uid=33)
            return Event(type="execve", ts=1, proc=proc, container=shop)

        assert [
            a.output_fields.get("profile.new") for a in detector.inspect(run("/usr/bin/ls"))
        ] == []
        assert {a.rule for a in detector.inspect(run("/usr/bin/id"))} == {DEVIATION_RULE}
    finally:
        sync.stop()
