"""Ingest through the real mTLS endpoint: exactly once, gaps refused, bad bodies refused."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import pytest
import zstandard

from stockade.model.entities import Container
from stockade.model.events import Event
from stockade.model.wire import Batch
from tests.support.agent_client import TestAgent, encode_batch, make_alert, make_event
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

WEB = Container(id="c" * 64, name="ingest-web", image="busybox:latest", runtime="podman")

STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)


def _events(first: int, last: int) -> list[Event]:
    now = time.time_ns()
    return [
        make_event(s, now + s, container=WEB, proc_name="ingest-sh") for s in range(first, last + 1)
    ]


def _stored_seqs(admin: httpx.Client, agent: TestAgent) -> list[int]:
    events = admin.get("/api/v1/events", params={"limit": 10000}).json()
    return sorted(e["seq"] for e in events if e["agent_id"] == agent.agent_id)


@pytest.fixture
def agent(running: PlatformRunner, tmp_path: Path) -> TestAgent:
    return running.enroll(tmp_path)


def test_batch_is_stored_and_acked(agent: TestAgent, admin: httpx.Client) -> None:
    events = _events(1, 10)
    r = agent.send(agent.batch(events[:9], [make_alert(10, events[0])]))
    assert r.status_code == 200, r.text
    assert r.json() == {"acked_seq": 10}
    assert _stored_seqs(admin, agent) == list(range(1, 10))
    assert agent.client.get("/api/v1/agent/ack").json() == {"acked_seq": 10}


def test_resending_a_batch_stores_nothing_new(agent: TestAgent, admin: httpx.Client) -> None:
    batch = agent.batch(_events(1, 5))
    assert agent.send(batch).json() == {"acked_seq": 5}
    assert agent.send(batch).json() == {"acked_seq": 5}
    assert _stored_seqs(admin, agent) == [1, 2, 3, 4, 5]


def test_overlapping_batch_stores_only_the_new_part(agent: TestAgent, admin: httpx.Client) -> None:
    events = _events(1, 8)
    assert agent.send(agent.batch(events[:5])).json() == {"acked_seq": 5}
    overlapping = events[3:]  # seqs 4..8, of which 4 and 5 are stored
    assert agent.send(agent.batch(overlapping)).json() == {"acked_seq": 8}
    assert _stored_seqs(admin, agent) == list(range(1, 9))


def test_gap_is_409_with_acked_seq(agent: TestAgent, admin: httpx.Client) -> None:
    assert agent.send(agent.batch(_events(1, 3))).status_code == 200
    r = agent.send(agent.batch(_events(6, 7)))
    assert r.status_code == 409
    assert r.json()["acked_seq"] == 3
    assert "resend from 4" in r.json()["detail"]
    assert _stored_seqs(admin, agent) == [1, 2, 3]


def _valid_msgpack_wrong_shape() -> bytes:
    return zstandard.ZstdCompressor().compress(msgspec.msgpack.encode({"agent": 1, "x": [1, 2]}))


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"\x00garbage\xff" * 10, 400, "zstd"),
        (zstandard.ZstdCompressor().compress(b"\xc1\xc1 not msgpack"), 400, "msgpack"),
        (_valid_msgpack_wrong_shape(), 422, "Batch schema"),
        (zstandard.ZstdCompressor().compress(b"x" * 1000)[:-4], 400, "zstd"),
    ],
    ids=["garbage-bytes", "not-msgpack", "wrong-schema", "truncated-zstd"],
)
def test_bad_body_is_4xx_with_reason_and_stores_nothing(
    agent: TestAgent, admin: httpx.Client, body: bytes, status: int, reason: str
) -> None:
    r = agent.post_raw(body)
    assert r.status_code == status
    assert reason in r.json()["detail"]
    assert _stored_seqs(admin, agent) == []
    assert agent.client.get("/api/v1/agent/ack").json() == {"acked_seq": 0}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Content-Type": "application/json"}, "Content-Type"),
        ({"Content-Encoding": "gzip"}, "Content-Encoding"),
    ],
    ids=["content-type", "content-encoding"],
)
def test_wrong_headers_are_415(agent: TestAgent, headers: dict[str, str], reason: str) -> None:
    r = agent.post_raw(encode_batch(agent.batch(_events(1, 2))), **headers)
    assert r.status_code == 415
    assert reason in r.json()["detail"]


@pytest.mark.parametrize(
    ("first", "last", "seqs", "reason"),
    [
        (1, 3, [1, 2], "2 records for seq range [1, 3]"),
        (1, 2, [1, 3], "outside [1, 2]"),
        (1, 2, [1, 1], "duplicate seq"),
        (3, 2, [], "invalid seq range"),
    ],
    ids=["missing", "outside", "duplicate", "empty-range"],
)
def test_batch_not_covering_its_range_is_422(
    agent: TestAgent, admin: httpx.Client, first: int, last: int, seqs: list[int], reason: str
) -> None:
    now = time.time_ns()
    events = [make_event(s, now, container=WEB) for s in seqs]
    r = agent.send(Batch(agent_id=agent.agent_id, first_seq=first, last_seq=last, events=events))
    assert r.status_code == 422
    assert reason in r.json()["detail"]
    assert _stored_seqs(admin, agent) == []


def test_agent_id_not_matching_the_cert_is_403(
    agent: TestAgent, running: PlatformRunner, tmp_path: Path, admin: httpx.Client
) -> None:
    other = running.enroll(tmp_path / "other", host_id="other-host")
    batch = Batch(agent_id=other.agent_id, first_seq=1, last_seq=2, events=_events(1, 2))
    r = agent.send(batch)
    assert r.status_code == 403
    assert "certificate CN" in r.json()["detail"]
    assert _stored_seqs(admin, other) == []


def test_too_large_body_is_413(agent: TestAgent) -> None:
    r = agent.post_raw(b"\0" * (33 * 1024 * 1024))
    assert r.status_code == 413
    assert "exceeds" in r.json()["detail"]


def test_same_batch_sent_concurrently_is_stored_once(agent: TestAgent, admin: httpx.Client) -> None:
    batch = agent.batch(_events(1, 50))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: agent.send(batch), range(4)))
    assert [r.status_code for r in answers] == [200] * 4
    assert {r.json()["acked_seq"] for r in answers} == {50}
    assert _stored_seqs(admin, agent) == list(range(1, 51))
