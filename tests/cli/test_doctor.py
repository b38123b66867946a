"""`stockade doctor` names every source and runtime, and the one the agent will use."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stockade.cli.doctor import Check, chosen_source
from stockade.cli.main import app


@pytest.mark.parametrize(
    ("usable", "chosen"),
    [
        ({"ebpf", "proc_connector", "fanotify"}, "ebpf"),
        ({"proc_connector", "fanotify"}, "proc_connector+fanotify"),
        ({"proc_connector"}, "proc_connector"),
        (set(), "none"),
    ],
    ids=["all", "no-ebpf", "proc-connector-only", "nothing"],
)
def test_chosen_source_follows_the_default_chain(usable: set[str], chosen: str) -> None:
    checks = [
        Check("event source", name, None if name in usable else "not here")
        for name in ("ebpf", "proc_connector", "fanotify")
    ]
    assert chosen_source(checks) == chosen


@pytest.mark.root
@pytest.mark.ebpf
def test_doctor_reports_sources_and_runtimes_here() -> None:
    result = CliRunner().invoke(app, ["doctor"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in ("ebpf", "proc_connector", "fanotify", "podman", "docker"):
        assert name in result.output
    assert "eBPF record readers │ ok" in result.output  # built by the install step
    assert "context stage loop  │ ok" in result.output
    assert "event source the agent will use: ebpf" in result.output
