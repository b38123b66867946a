"""The platform forwards every stored agent alert to its outputs, in the agent's order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stockade.outputs.settings import OutputSettings, OutputsQueue, WebhookOutput
from tests.support.agent_client import make_alert, make_event
from tests.support.http_receivers import WebhookReceiver
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

SECRET = "platform-webhook-secret"


@pytest.mark.server
def test_stored_alerts_go_to_the_webhook_in_order(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET).start()
    settings = OutputSettings(
        webhook_output=WebhookOutput(enabled=True, url=receiver.url + "/hook", secret=SECRET),
        outputs_queue=OutputsQueue(retry_initial=0.05, retry_max=0.5, drain_timeout=2),
    )
    runner = PlatformRunner(tmp_path / "platform")
    runner.config = dataclasses.replace(runner.config, outputs=settings)
    runner.start()
    try:
        agent = runner.enroll(tmp_path / "agent")
        for first in (1, 21):  # two batches: order across batches is kept too
            events = [make_event(n, 1_765_000_000_000_000_000 + n, host_id=agent.host_id)
                      for n in range(first, first + 10)]  # fmt: skip
            alerts = [
                make_alert(n + 10, e) for n, e in zip(range(first, first + 10), events, strict=True)
            ]
            assert agent.send(agent.batch(events, alerts)).status_code == 200
        poll_until(lambda: len(receiver.alerts) >= 20, 15, "20 alerts at the webhook")
    finally:
        runner.stop()
        receiver.stop()
    assert [a["seq"] for a in receiver.alerts] == [*range(11, 21), *range(31, 41)]
    assert receiver.alerts[0]["rule"] == "Terminal shell in container"
    assert (runner.data_dir / "outputs" / "webhook.sqlite").is_file()
