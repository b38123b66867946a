"""The agent's inventory reaches a real platform: a full collection first, then only the
differences (a user the test adds appears, and is gone after its removal); differences
made while the platform is down wait on disk and arrive in order."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent.errors import TransportError
from stockade.agent.inventory import InventoryCollector, InventoryWorker
from stockade.agent.inventory_outbox import InventoryOutbox, encode_diff
from stockade.model.host_inventory import INVENTORY_PATH, InventoryDiff
from tests.support.agent_client import TestAgent, tls_context
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

HEADERS = {"content-type": "application/json", "content-encoding": "zstd"}


def sender(agent: TestAgent) -> Any:
    """Send differences the way the agent does, over the test agent's mTLS client."""

    def send(diff: InventoryDiff) -> None:
        answer = agent.client.post(INVENTORY_PATH, content=encode_diff(diff), headers=HEADERS)
        assert answer.status_code == 200, answer.text

    return send


STABLE_HERE = ("users", "groups", "deb_packages", "crontab", "systemd_units", "os_version")


def host_rows(diff: InventoryDiff, table: str, side: str) -> list[dict[str, Any]]:
    """The rows of the host itself (not of containers others start meanwhile) in a diff."""
    found = [t for t in diff.tables if t.table == table]
    rows = [json.loads(bytes(r)) for t in found for r in getattr(t, side)]
    return [r for r in rows if r["container"] == ""]


@pytest.fixture
def user_name() -> Iterator[str]:
    """A local user name no one has; the user is removed if the test leaves it behind."""
    name = f"inv{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["userdel", name], capture_output=True, check=False)


def usernames(admin: httpx.Client, host_id: str) -> set[str]:
    page = admin.get(f"/api/v1/hosts/{host_id}/inventory/users", params={"limit": 1000})
    assert page.status_code == 200, page.text
    return {r["username"] for r in page.json()["rows"] if r["container"] == ""}


@pytest.mark.root
def test_an_added_user_appears_and_its_removal_is_sent_as_a_difference(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path, user_name: str
) -> None:
    agent = running.enroll(tmp_path, hostname="inventory-node", host_id="inventory-host")
    worker = InventoryWorker(InventoryCollector(agent.host_id), sender(agent))
    first = worker.round(full=True)
    assert first.full and {t.table for t in first.tables} >= {"users", "deb_packages"}
    assert user_name not in usernames(admin, agent.host_id)

    subprocess.run(["useradd", "-M", "-s", "/bin/false", user_name], check=True)
    added = worker.round(full=False)
    assert not added.full
    assert [r["username"] for r in host_rows(added, "users", "added")] == [user_name]
    assert host_rows(added, "users", "removed") == []
    assert user_name in usernames(admin, agent.host_id)

    subprocess.run(["userdel", user_name], check=True)
    removed = worker.round(full=False)
    assert [r["username"] for r in host_rows(removed, "users", "removed")] == [user_name]
    assert host_rows(removed, "users", "added") == []
    assert user_name not in usernames(admin, agent.host_id)

    history = admin.get(f"/api/v1/hosts/{agent.host_id}/changes", params={"table": "users"})
    changes = [(c["change"], c["row"]["username"]) for c in history.json()]
    assert ("added", user_name) in changes and ("removed", user_name) in changes

    nothing = worker.round(full=False)  # containers of other tests may come and go meanwhile
    for table in STABLE_HERE:
        assert host_rows(nothing, table, "added") == host_rows(nothing, table, "removed") == []


def test_a_host_summary_counts_ports_and_suid_files(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="summary-node", host_id="summary-host")
    collector = InventoryCollector(agent.host_id)
    diff, _ = collector.changes(full=True, names=("listening_ports", "suid_bin"))
    sender(agent)(diff)
    hosts = {h["id"]: h for h in admin.get("/api/v1/hosts").json()}
    risk = hosts[agent.host_id]["risk"]
    counts = {t.table: len(t.added) for t in diff.tables}
    assert risk["open_ports"] == counts.get("listening_ports", 0)
    assert risk["suid_files"] == counts.get("suid_bin", 0) > 0
    assert risk["failed_checks"] is None
    page = admin.get(f"/api/v1/hosts/{agent.host_id}/inventory/suid_bin", params={"limit": 2})
    assert page.json()["total"] == counts["suid_bin"] and len(page.json()["rows"]) == 2
    assert "permissions" in page.json()["columns"]


def test_the_platform_refuses_another_host_and_unknown_tables(
    running: PlatformRunner, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="honest-node", host_id="honest-host")
    other = InventoryDiff(host_id="someone-else", collected_at=1)
    answer = agent.client.post(INVENTORY_PATH, content=encode_diff(other), headers=HEADERS)
    assert answer.status_code == 403
    bogus = b'{"host_id": "honest-host", "collected_at": 1, "tables": [{"table": "nope"}]}'
    answer = agent.client.post(INVENTORY_PATH, content=bogus)
    assert answer.status_code == 422 and "nope" in answer.json()["detail"]
    answer = agent.client.post(INVENTORY_PATH, content=b"xx", headers={"content-encoding": "br"})
    assert answer.status_code == 415


def test_unknown_host_and_table_are_404(running: PlatformRunner, admin: httpx.Client) -> None:
    assert admin.get("/api/v1/hosts/no-such-host").status_code == 404
    assert admin.get("/api/v1/hosts/no-such-host/inventory/users").status_code == 404


def test_openapi_types_each_tables_rows(admin: httpx.Client) -> None:
    document = admin.get("/openapi.json").json()
    page = document["components"]["schemas"]["TablePage"]["properties"]["rows"]["items"]
    users = next(s for s in page["anyOf"] if s["title"] == "users row")
    assert {"uid", "username", "shell", "admin", "container", "image"} <= set(users["properties"])
    assert "/api/v1/hosts/{host_id}/inventory/{table}" in document["paths"]


@pytest.mark.root
def test_differences_made_while_the_platform_is_down_wait_on_disk_in_order(
    tmp_path: Path, user_name: str
) -> None:
    """A user added and removed during an outage still shows in the host's history."""
    runner = PlatformRunner(tmp_path / "platform").start()
    try:
        agent = runner.enroll(tmp_path / "agent", hostname="outage-node", host_id="outage-host")
        ca_pem = runner.platform.ca_pem
        context = tls_context(ca_pem, agent.cert_path, tmp_path / "agent" / "agent.key")

        def send(diff: InventoryDiff) -> None:  # a fresh connection each time, as after an outage
            try:
                with httpx.Client(base_url=runner.agent_url, verify=context, timeout=10) as c:
                    answer = c.post(INVENTORY_PATH, content=encode_diff(diff), headers=HEADERS)
            except httpx.HTTPError as e:
                raise TransportError(f"platform unreachable: {e}") from e
            assert answer.status_code == 200, answer.text

        outbox = InventoryOutbox(tmp_path / "outbox")
        worker = InventoryWorker(InventoryCollector(agent.host_id), send, outbox=outbox)
        worker.round(full=True)
        runner.stop()
        subprocess.run(["useradd", "-M", "-s", "/bin/false", user_name], check=True)
        with pytest.raises(TransportError):
            worker.round(full=False)
        subprocess.run(["userdel", user_name], check=True)
        with pytest.raises(TransportError):
            worker.round(full=False)
        assert len(outbox) == 2  # both steps kept, on disk
        runner.start()
        worker.round(full=False)
        assert len(outbox) == 0
        admin = runner.login()
        history = admin.get(f"/api/v1/hosts/{agent.host_id}/changes", params={"table": "users"})
        steps = [c["change"] for c in reversed(history.json()) if c["row"]["username"] == user_name]
        assert steps == ["added", "removed"]
    finally:
        runner.stop()


@pytest.mark.root
def test_a_changed_source_wakes_the_worker_long_before_its_next_poll(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path, user_name: str
) -> None:
    """inotify on /etc: a user added then removed reaches the platform with an hour's poll."""
    agent = running.enroll(tmp_path, hostname="watch-node", host_id="watch-host")
    worker = InventoryWorker(InventoryCollector(agent.host_id), sender(agent), poll_every_s=3600)
    worker.start()
    try:
        poll_until(lambda: usernames(admin, agent.host_id), 60, "the first full inventory")
        subprocess.run(["useradd", "-M", "-s", "/bin/false", user_name], check=True)
        poll_until(lambda: user_name in usernames(admin, agent.host_id), 30, "the added user")
        subprocess.run(["userdel", user_name], check=True)
        poll_until(lambda: user_name not in usernames(admin, agent.host_id), 30, "its removal")
    finally:
        worker.stop()
    assert worker.collections >= 3
