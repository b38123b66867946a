"""Image scans through the real console and agent ports: upload, list, detail, refusals."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import msgspec
import pytest

from stockade.model.entities import Container
from stockade.model.inventory import Finding, ScanResult, Severity
from stockade.model.wire import SCAN_CONTENT_TYPE, encode_scan
from tests.support.agent_client import TestAgent, make_event
from tests.support.corpus_scan import app_image_json, app_image_scan
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def app_digest(admin: httpx.Client, corpus: Path) -> str:
    """The app image's scan uploaded once through the console API."""
    r = admin.post(
        "/api/v1/scans",
        content=app_image_json(corpus),
        params={"name": "registry.local/app:1.0"},
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    digest: str = r.json()["digest"]
    assert digest == app_image_scan(corpus).image_digest
    return digest


def test_uploaded_image_is_listed_with_its_counts(admin: httpx.Client, app_digest: str) -> None:
    listed = admin.get("/api/v1/images").json()
    (image,) = [i for i in listed if i["digest"] == app_digest]
    assert image["names"] == ["registry.local/app:1.0"]
    assert image["os"].startswith("debian 12")
    assert image["packages"] == 150
    assert image["by_kind"] == {"misconfiguration": 7, "secret": 3}
    assert image["by_severity"]["CRITICAL"] == 2 and image["max_severity"] == "CRITICAL"
    assert image["last_scanned"].endswith("Z") and image["agent_id"] == ""


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"name": "app:1"}, True),
        ({"name": "APP:1"}, True),
        ({"name": "sha256:4ff2"}, True),
        ({"name": "nginx"}, False),
        ({"severity": "critical"}, True),
        ({"severity": "HIGH", "name": "app"}, True),
    ],
    ids=["name", "name-any-case", "digest-prefix", "other-name", "critical", "both"],
)
def test_image_list_filters(
    admin: httpx.Client, app_digest: str, params: dict[str, str], found: bool
) -> None:
    digests = [i["digest"] for i in admin.get("/api/v1/images", params=params).json()]
    assert (app_digest in digests) is found


def test_image_detail_has_packages_secrets_and_misconfigurations(
    admin: httpx.Client, app_digest: str
) -> None:
    detail = admin.get(f"/api/v1/images/{app_digest}").json()
    assert detail["packages_total"] == 150 and len(detail["package_list"]) == 150
    assert {p["name"] for p in detail["package_list"]} >= {"lodash", "requests", "bash"}
    secrets = [f for f in detail["finding_list"] if f["kind"] == "secret"]
    assert sorted(f["id"] for f in secrets) == ["aws-access-key-id", "github-pat", "private-key"]
    assert all(f["layer_digest"].startswith("sha256:") for f in secrets)
    misconfigs = {f["id"] for f in detail["finding_list"] if f["kind"] == "misconfiguration"}
    assert {"DS-0002", "DS-0004", "DS-0026", "DS-0029"} <= misconfigs
    assert detail["finding_list"][0]["severity"] == "CRITICAL"  # worst first
    assert len(detail["layers"]) == 4


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({"kind": "secret", "severity": "critical"}, ["aws-access-key-id", "github-pat"]),
        ({"kind": "secret", "limit": "1"}, ["aws-access-key-id"]),
        ({"kind": "vulnerability"}, []),
    ],
    ids=["kind-and-severity", "limit", "no-vulns"],
)
def test_image_detail_filters(
    admin: httpx.Client, app_digest: str, params: dict[str, str], ids: list[str]
) -> None:
    detail = admin.get(f"/api/v1/images/{app_digest}", params=params).json()
    assert sorted(f["id"] for f in detail["finding_list"]) == ids


def test_unknown_image_and_bad_severity(admin: httpx.Client, app_digest: str) -> None:
    r = admin.get("/api/v1/images/sha256:" + "0" * 64)
    assert r.status_code == 404 and "no scan" in r.json()["detail"]
    r = admin.get(f"/api/v1/images/{app_digest}", params={"severity": "dire"})
    assert r.status_code == 422 and "use one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL" in r.text
    assert admin.get("/api/v1/images", params={"severity": "x"}).status_code == 422


def _without_digest() -> bytes:
    return msgspec.json.encode(ScanResult(target="dir:/srv", os="debian 12"))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"{not json", "bad scan result"),
        (b'{"image_digest": "sha256:ab"}', "missing required field `target`"),
        (b'{"target": "x", "packages": 3}', "Expected `array`"),
        (_without_digest(), "names no image digest"),
    ],
    ids=["empty", "not-json", "no-target", "wrong-type", "no-digest"],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(
    admin: httpx.Client, app_digest: str, body: bytes, reason: str
) -> None:
    before = admin.get("/api/v1/images").json()
    r = admin.post("/api/v1/scans", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]
    assert admin.get("/api/v1/images").json() == before


def test_scan_api_needs_a_login(running: PlatformRunner, corpus: Path) -> None:
    with running.console() as anonymous:
        assert anonymous.post("/api/v1/scans", content=app_image_json(corpus)).status_code == 401
        assert anonymous.get("/api/v1/images").status_code == 401
        assert anonymous.get("/api/v1/images/sha256:00").status_code == 401


def test_a_rescan_replaces_the_findings_and_keeps_the_names(
    admin: httpx.Client, corpus: Path
) -> None:
    first = app_image_scan(corpus)
    digest = "sha256:" + "1" * 64
    rescan = ScanResult(
        target="podman:app",
        image_digest=digest,
        findings=[Finding(kind="secret", id="github-pat", severity=Severity.CRITICAL)],
    )
    older = msgspec.structs.replace(first, image_digest=digest)
    for body, name in ((older, "app:old"), (rescan, "app:new")):
        r = admin.post("/api/v1/scans", content=msgspec.json.encode(body), params={"name": name})
        assert r.status_code == 201, r.text
    detail = admin.get(f"/api/v1/images/{digest}").json()
    assert [f["id"] for f in detail["finding_list"]] == ["github-pat"]
    assert detail["names"] == ["app:old", "app:new"] and detail["packages_total"] == 0


def _upload(agent: TestAgent, scan: ScanResult, name: str = "busybox:1") -> httpx.Response:
    return agent.client.post(
        "/api/v1/agent/scans",
        content=encode_scan(scan),
        params={"name": name},
        headers={"Content-Type": SCAN_CONTENT_TYPE},
    )


def _run_image(agent: TestAgent, digest: str, seq: int = 1) -> None:
    """Report a container of the image through the agent's batches."""
    container = Container(
        id=uuid.uuid4().hex * 2, name="app", image="busybox:1", image_digest=digest
    )
    event = make_event(seq, time.time_ns(), container=container, host_id=agent.host_id)
    assert agent.send(agent.batch([event])).status_code == 200


def test_agents_ask_and_upload_scans_once_per_digest(
    running: PlatformRunner, admin: httpx.Client, corpus: Path, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="scan-node")
    digest = "sha256:" + "2" * 64
    scan = msgspec.structs.replace(app_image_scan(corpus), image_digest=digest)
    assert agent.client.get(f"/api/v1/agent/scans/{digest}").status_code == 404
    _run_image(agent, digest)
    r = _upload(agent, scan)
    assert r.status_code == 201 and r.json() == {"digest": digest}
    assert agent.client.get(f"/api/v1/agent/scans/{digest}").status_code == 200
    image = admin.get(f"/api/v1/images/{digest}").json()
    assert image["agent_id"] == agent.agent_id and image["names"] == ["busybox:1"]
    bad = agent.client.post("/api/v1/agent/scans", content=b"[]")
    assert bad.status_code == 422 and "bad scan result" in bad.json()["detail"]
    bad = agent.client.post(
        "/api/v1/agent/scans", content=b"{}", headers={"Content-Type": SCAN_CONTENT_TYPE}
    )
    assert bad.status_code == 422 and "bad scan result" in bad.json()["detail"]


def test_an_agent_cannot_overwrite_or_hide_the_scan_of_an_image_it_never_ran(
    running: PlatformRunner, admin: httpx.Client, corpus: Path, tmp_path: Path
) -> None:
    honest = running.enroll(tmp_path / "honest", hostname="honest")
    forger = running.enroll(tmp_path / "forger", hostname="forger", host_id="host-forger")
    digest = "sha256:" + "3" * 64
    genuine = msgspec.structs.replace(app_image_scan(corpus), image_digest=digest)
    clean = ScanResult(target="podman:app", image_digest=digest)  # hides every finding
    _run_image(honest, digest)
    assert _upload(honest, genuine).status_code == 201
    # the attack: overwrite the stored scan of an image the forger never reported
    r = _upload(forger, clean, name="clean:1")
    assert r.status_code == 403 and "reported no container" in r.json()["detail"]
    detail = admin.get(f"/api/v1/images/{digest}").json()
    assert detail["agent_id"] == honest.agent_id and detail["names"] == ["busybox:1"]
    assert detail["by_kind"] == {"misconfiguration": 7, "secret": 3}
    # and another agent's scan does not make the forger (or anyone) skip its own scan
    assert forger.client.get(f"/api/v1/agent/scans/{digest}").status_code == 404
    # once the forger runs the image, its scan is kept apart: the honest one stays known
    _run_image(forger, digest)
    assert _upload(forger, clean).status_code == 201
    assert honest.client.get(f"/api/v1/agent/scans/{digest}").status_code == 200
    assert forger.client.get(f"/api/v1/agent/scans/{digest}").status_code == 200
    running.stop()
    try:
        with running.stored() as store:
            kept = {s for s in (honest.agent_id, forger.agent_id) if store.has_scan(digest, s)}
    finally:
        running.start()
    assert kept == {honest.agent_id, forger.agent_id}


def test_a_user_request_lets_an_agent_scan_an_image_it_does_not_run(
    running: PlatformRunner, admin: httpx.Client, corpus: Path, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="scanner")
    digest = "sha256:" + "4" * 64
    scan = msgspec.structs.replace(app_image_scan(corpus), image_digest=digest)
    assert _upload(agent, scan).status_code == 403
    r = admin.post(f"/api/v1/images/{digest}/scan-request")
    assert r.status_code == 202 and r.json()["requested_by"] == "admin"
    assert _upload(agent, scan).status_code == 201


def test_agent_scan_routes_need_the_client_certificate(running: PlatformRunner) -> None:
    ca = running.platform.ca_pem
    from tests.support.agent_client import tls_context

    with httpx.Client(base_url=running.platform.agent_url, verify=tls_context(ca)) as client:
        assert client.get("/api/v1/agent/scans/sha256:00").status_code == 401
        assert client.post("/api/v1/agent/scans", content=b"{}").status_code == 401
