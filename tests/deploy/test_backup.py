"""docs/deploy.md's SQLite backup and restore, run as written against a live platform."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx

from stockade.model import Event
from tests.support.agent_client import make_event
from tests.support.ci import require
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
DOCUMENTED_ROOT = "/var/lib/stockade"
DOCUMENTED_BACKUP = "/var/backups/stockade"
STORE_TIMEOUT_S = 30


def _documented(block: str, data_root: Path, backup: Path) -> str:
    """The shell block after `<!-- block -->` in docs/deploy.md, on this test's paths."""
    found = re.search(rf"<!-- {block} -->\n```sh\n(.*?)```", DEPLOY_DOC.read_text(), re.S)
    assert found is not None, f"{block} is not in {DEPLOY_DOC.name}"
    # the service manager's lines are the test's own start and stop
    lines = [line for line in found.group(1).splitlines() if not line.startswith("systemctl ")]
    script = "\n".join(lines).replace(DOCUMENTED_BACKUP, str(backup))
    return script.replace(DOCUMENTED_ROOT, str(data_root))


def _run(script: str) -> None:
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr


def _stored_count(api: httpx.Client, host: str) -> int:
    answer = api.get("/api/v1/events", params={"host": host, "limit": 1000})
    answer.raise_for_status()
    return len(answer.json())


def _send(runner: PlatformRunner, events: list[Event], tmp_path: Path) -> str:
    agent = runner.enroll(tmp_path / "agent", hostname="node-b", host_id="host-b")
    assert agent.send(agent.batch(events)).status_code == 200
    return agent.host_id


def test_sqlite_backup_restores_and_the_platform_starts_on_it(tmp_path: Path) -> None:
    require(shutil.which("sqlite3"), "sqlite3 (the command) not installed")
    data_root, backup = tmp_path / "data", tmp_path / "backup"
    runner = PlatformRunner(data_root / "platform").start()
    events = [make_event(seq, 1_000_000 + seq, host_id="host-b") for seq in range(1, 51)]
    host = _send(runner, events, tmp_path)
    api = runner.login()
    poll_value(lambda: _stored_count(api, host), lambda n: n == 50, STORE_TIMEOUT_S, "50 events")
    fingerprint = runner.ca_fingerprint

    _run(_documented("backup:sqlite", data_root, backup))  # online: the platform is serving
    api.close()
    runner.stop()
    shutil.rmtree(data_root)  # the disk is lost

    _run(_documented("restore:sqlite", data_root, backup))
    runner.start()
    try:
        assert runner.ca_fingerprint == fingerprint  # agents need not enroll again
        restored = runner.login()
        assert _stored_count(restored, host) == 50
        restored.close()
    finally:
        runner.stop()
