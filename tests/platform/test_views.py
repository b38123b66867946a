"""How records look in the API: agent status from the last contact, alert origin fields."""

from __future__ import annotations

import pytest

from stockade.platform.api.views import OFFLINE_AFTER_NS, agent_view, alert_view
from stockade.platform.store import AgentRecord, StoredAlert
from tests.support.agent_client import make_alert, make_event

NOW = 10 * OFFLINE_AFTER_NS


@pytest.mark.parametrize(
    ("last_seen", "status", "shown"),
    [
        (0, "enrolled", "enrolled"),
        (NOW - 1, "online", "online"),
        (NOW - 1, "degraded", "degraded"),
        (NOW - OFFLINE_AFTER_NS - 1, "online", "offline"),
    ],
    ids=["never-seen", "online", "degraded", "silent"],
)
def test_agent_status(last_seen: int, status: str, shown: str) -> None:
    agent = AgentRecord(
        id="a",
        hostname="h",
        host_id="h",
        cert_fingerprint="f",
        enrolled_at=1,
        last_seen=last_seen,
        status=status,
    )
    assert agent_view(agent, NOW)["status"] == shown


def test_alert_without_container_row_takes_origin_from_output_fields() -> None:
    alert = make_alert(2, make_event(1, 5))
    alert.container_id = "7" * 64
    alert.count = 3  # aggregated at the agent
    alert.output_fields.update(
        {
            "container.name": "api",
            "container.image.repository": "reg/api",
            "container.image.tag": "2",
            "container.image.digest": "sha256:ab",
        }
    )
    view = alert_view(
        StoredAlert(
            agent_id="a",
            alert=alert,
            proc_name="sh",
            proc_pid=3,
            proc_cmdline="sh -c id",
            container=None,
        )
    )
    assert view["container"] == {
        "id": "7" * 64,
        "short_id": "7" * 12,
        "name": "api",
        "image": "reg/api:2",
        "image_digest": "sha256:ab",
    }
    assert view["process"] == {"name": "sh", "pid": 3, "cmdline": "sh -c id"}
    assert view["count"] == 3
