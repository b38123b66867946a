"""Attack scenarios performed in real podman containers under the real eBPF sensor.

Each scenario starts a container, runs a benign twin and then the attack in it with
`podman exec`, and asserts that Stockade's default rule fires on the attack only (with
its priority, the container's id and image), that no default rule fires on the twin, and
that the Falco rules whose condition the attack meets fire too. The catalogue in
docs/detections.md lists the same scenarios.
"""

from __future__ import annotations

import uuid

import pytest

from stockade.detect.rules import RulesDetector
from tests.detect.scenarios import SCENARIOS
from tests.support.live import LivePipeline, alerts_for
from tests.support.podman import Podman

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.podman]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(
    name: str,
    podman: Podman,
    busybox_image: str,
    tools_image: str,
    live: LivePipeline,
    default_rules: RulesDetector,
    falco_rules: RulesDetector,
) -> None:
    scenario = SCENARIOS[name]
    image = busybox_image if scenario.image == "busybox" else tools_image
    container = f"stockade-scenario-{name}-{uuid.uuid4().hex[:6]}"
    cid = podman.run_detached(image, *scenario.entrypoint, name=container, extra=scenario.run)
    try:
        live.clear()
        podman.cmd("exec", container, *scenario.benign, check=False)
        benign = live.sync()
        live.clear()
        tty = ("-t",) if scenario.tty else ()
        podman.cmd("exec", *tty, container, *scenario.attack, check=False, timeout=60)
        attack = live.sync()
    finally:
        podman.remove(container)
    benign_alerts = alerts_for(default_rules, benign, cid)
    attack_alerts = alerts_for(default_rules, attack, cid)
    falco_benign = {a.rule for a in alerts_for(falco_rules, benign, cid)}
    falco_attack = {a.rule for a in alerts_for(falco_rules, attack, cid)}
    summary = (
        f"default on attack: {sorted({a.rule for a in attack_alerts})}; "
        f"on twin: {[a.output for a in benign_alerts]}; "
        f"falco on attack: {sorted(falco_attack)}; on twin: {sorted(falco_benign)}"
    )
    fired = [a for a in attack_alerts if a.rule == scenario.rule]
    assert fired, summary
    alert = fired[0]
    assert alert.priority == scenario.priority, summary
    assert alert.container_id == cid
    assert alert.output_fields["container.id"] == cid[:12]
    assert alert.output_fields["container.image.repository"] == image.rsplit(":", 1)[0]
    assert benign_alerts == [], summary
    assert scenario.falco <= falco_attack, summary
    assert not (scenario.falco & falco_benign), summary
