"""One host, one active agent: anyone holding an enrollment token cannot enroll as a host
another active agent holds (409, naming the holder and the way out). An admin revokes the
holder first, or makes a token to replace it (`token create --replace-host`, audited), which
revokes the holder as the new agent enrolls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from typer.testing import CliRunner

from stockade.cli.datadir import platform_dir
from stockade.cli.main import app
from stockade.model.entities import Host
from stockade.model.wire import EnrollRequest
from stockade.platform.services.enrollment import enrollment_store
from stockade.platform.store import AgentRecord, TokenState
from stockade.platform.store.sqlite_enrollment import HostClaim
from tests.support.agent_client import TestAgent, key_and_csr, tls_context
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until
from tests.support.stores import StoreOpener

pytestmark = pytest.mark.server

REVOKED_WITHIN_S = 5  # the bound for a revocation to reach every listener


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data root `stockade token create --data-dir` names."""
    return tmp_path_factory.mktemp("claims")


@pytest.fixture(scope="module")
def platform(root: Path) -> Iterator[PlatformRunner]:
    """A platform whose data dir the CLI opens beside it."""
    runner = PlatformRunner(platform_dir(root)).start()
    yield runner
    runner.stop()


def _enroll(platform: PlatformRunner, token: str, directory: Path, host_id: str) -> TestAgent:
    return TestAgent.enroll(
        platform.agent_url, platform.platform.ca_pem, token, directory, host_id=host_id
    )


def _attempt(platform: PlatformRunner, token: str, host_id: str) -> httpx.Response:
    """An enrollment naming `host_id`, as anyone with a token can send it."""
    _, csr = key_and_csr()
    request = EnrollRequest(token=token, csr_pem=csr, host=Host(id=host_id, hostname="intruder"))
    ctx = tls_context(platform.platform.ca_pem)
    with httpx.Client(base_url=platform.agent_url, verify=ctx, timeout=30) as client:
        return client.post("/api/v1/agent/enroll", content=msgspec.json.encode(request))


def _replacing_token(root: Path, host_id: str) -> str:
    result = CliRunner().invoke(
        app, ["token", "create", "--replace-host", host_id, "--data-dir", str(root)]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_a_held_host_is_refused_until_its_agent_is_revoked(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    holder = _enroll(platform, platform.token(), tmp_path / "holder", "held-host")
    token = platform.token()
    hijack = _attempt(platform, token, "held-host")
    assert hijack.status_code == 409
    detail = hijack.json()["detail"]
    assert f"held by active agent {holder.agent_id}" in detail
    assert f"stockade agent revoke {holder.agent_id}" in detail
    assert "stockade token create --replace-host held-host" in detail
    assert holder.client.get("/api/v1/agent/ack").status_code == 200  # the holder is untouched
    with contextlib.closing(platform.login()) as admin:
        assert admin.delete(f"/api/v1/agents/{holder.agent_id}").status_code == 200
        newcomer = _enroll(platform, token, tmp_path / "newcomer", "held-host")  # not spent
        with contextlib.closing(holder.client), contextlib.closing(newcomer.client):
            assert newcomer.client.get("/api/v1/agent/ack").status_code == 200
            assert holder.client.get("/api/v1/agent/ack").status_code == 403
        rows = {a["id"]: a["status"] for a in admin.get("/api/v1/agents").json()}
    assert rows[holder.agent_id] == "revoked" and rows[newcomer.agent_id] != "revoked"


def test_a_replacing_token_revokes_the_old_agent_as_the_new_one_enrolls(
    platform: PlatformRunner, root: Path, tmp_path: Path
) -> None:
    old = _enroll(platform, platform.token(), tmp_path / "old", "reinstalled-host")
    token = _replacing_token(root, "reinstalled-host")
    elsewhere = _attempt(platform, token, "another-host")  # it replaces that host only
    assert elsewhere.status_code == 403
    assert "replaces the agent of host 'reinstalled-host'" in elsewhere.json()["detail"]
    new = _enroll(platform, token, tmp_path / "new", "reinstalled-host")
    with contextlib.closing(old.client), contextlib.closing(new.client):
        poll_until(
            lambda: old.client.get("/api/v1/agent/ack").status_code == 403,
            REVOKED_WITHIN_S,
            "the replaced agent's certificate to be refused",
        )
        assert new.client.get("/api/v1/agent/ack").status_code == 200
    with contextlib.closing(platform.login()) as admin:
        rows = {a["id"]: a["status"] for a in admin.get("/api/v1/agents").json()}
        audit = admin.get("/api/v1/audit").json()
    assert rows[old.agent_id] == "revoked" and rows[new.agent_id] != "revoked"
    made = [a for a in audit if "replacing the agent of host 'reinstalled-host'" in a["path"]]
    assert made and made[0]["username"].startswith("cli:")


def test_a_replacing_token_on_a_free_host_enrolls_like_any_other(
    platform: PlatformRunner, root: Path, tmp_path: Path
) -> None:
    agent = _enroll(platform, _replacing_token(root, "fresh-host"), tmp_path, "fresh-host")
    with contextlib.closing(agent.client):
        assert agent.client.get("/api/v1/agent/ack").status_code == 200


def _agent(agent_id: str, host_id: str) -> AgentRecord:
    return AgentRecord(
        id=agent_id, hostname=host_id, host_id=host_id, cert_fingerprint=agent_id, enrolled_at=1
    )


def test_the_store_settles_a_host_in_one_transaction(open_store: StoreOpener) -> None:
    store = open_store()
    first, second = enrollment_store(store), enrollment_store(open_store())
    for name, replaces in (("t1", ""), ("t2", ""), ("t3", "h"), ("t4", "other")):
        first.add_host_token(name, 100, replaces)
    assert first.enroll_agent("t1", 5, _agent("a1", "h")).host is HostClaim.FREE
    held = second.enroll_agent("t2", 6, _agent("a2", "h"))  # another process, same database
    assert (held.host, held.holders, held.done) == (HostClaim.HELD, ("a1",), False)
    assert second.enroll_agent("t4", 6, _agent("a2", "h")).host is HostClaim.OTHER_HOST
    replaced = second.enroll_agent("t3", 7, _agent("a3", "h"))
    assert (replaced.host, replaced.holders, replaced.done) == (HostClaim.REPLACED, ("a1",), True)
    old, new = store.get_agent("a1"), store.get_agent("a3")
    assert old is not None and old.revoked_at == 7 and new is not None and new.revoked_at is None
    assert store.get_agent("a2") is None
    assert first.enroll_agent("t2", 8, _agent("a2", "h2")).done  # the refusal spent nothing
    assert first.enroll_agent("t2", 9, _agent("a4", "h3")).token is TokenState.USED
