"""The audit trail by keyset pages: `GET /api/v1/actions` with `cursor`, on a real platform.

Small pages read one after another give every action exactly once, newest first (ties on
the request time by id), with or without a filter; an action added while paging does not
shift the later pages; the page is typed in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stockade.model.actions import ActionRecord, ActionResult, ActionStatus, ActionTarget, Trigger
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server]
T0 = 1_700_000_000_000_000_000
COUNT = 23


def _record(i: int) -> ActionRecord:
    record = ActionRecord(
        id=f"00000000-0000-4000-8000-{i:012d}",
        action="kill_process" if i % 3 else "freeze_container",
        target=ActionTarget(pid=1000 + i),
        trigger=Trigger(kind="policy", policy="p", alert_id=f"a-{i}", rule="r"),
        agent_id="agent-pages",
        host_id="host-pages",
        requested_at=T0 + (i // 2) * 1_000_000,  # pairs share a time: ties page by id
    )
    return record.ended(ActionResult(status=ActionStatus.DONE, detail="ok"), record.requested_at)


@pytest.fixture(scope="module")
def stored(running: PlatformRunner) -> Iterator[list[ActionRecord]]:
    """COUNT actions of one agent in the running platform's store, newest first."""
    records = [_record(i) for i in range(COUNT)]
    with running.beside() as store:
        for record in records:
            store.save_action(record)
    yield sorted(records, key=lambda r: (r.requested_at, r.id), reverse=True)


def _pages(admin: httpx.Client, limit: int, **params: str) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        query = {"agent_id": "agent-pages", "limit": str(limit), **params}
        if cursor is not None:
            query["cursor"] = cursor
        answer = admin.get("/api/v1/actions", params=query)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return


@pytest.mark.parametrize("limit", [1, 4, COUNT, 100], ids=["1", "4", "all", "more"])
def test_pages_give_every_action_once_in_order(
    admin: httpx.Client, stored: list[ActionRecord], limit: int
) -> None:
    pages = list(_pages(admin, limit))
    ids = [item["id"] for page in pages for item in page["items"]]
    assert ids == [r.id for r in stored]
    assert all(len(page["items"]) == limit for page in pages[:-1])
    assert pages[-1]["next_cursor"] is None


def test_a_filter_pages_its_own_matches(admin: httpx.Client, stored: list[ActionRecord]) -> None:
    pages = _pages(admin, 2, action="freeze_container")
    ids = [item["id"] for page in pages for item in page["items"]]
    assert ids == [r.id for r in stored if r.action == "freeze_container"]


def test_an_action_added_while_paging_shifts_no_later_page(
    running: PlatformRunner, admin: httpx.Client, stored: list[ActionRecord]
) -> None:
    pages = _pages(admin, 5)
    first = next(pages)
    newest = _record(COUNT)
    newest.requested_at = T0 + 10**12  # newer than every one: lands on page one
    with running.beside() as store:
        store.save_action(newest)
    rest = [item["id"] for page in pages for item in page["items"]]
    assert [item["id"] for item in first["items"]] + rest == [r.id for r in stored]


def test_a_cursor_not_handed_out_is_refused_in_one_line(admin: httpx.Client) -> None:
    answer = admin.get("/api/v1/actions", params={"cursor": "not a cursor"})
    assert answer.status_code == 422
    assert "pass next_cursor as it is" in answer.json()["detail"]


def test_the_page_is_typed_in_openapi(admin: httpx.Client) -> None:
    document = admin.get("/openapi.json").json()
    answer = document["paths"]["/api/v1/actions"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    page = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
    params = {p["name"] for p in document["paths"]["/api/v1/actions"]["get"]["parameters"]}
    assert {"cursor", "limit"} <= params
