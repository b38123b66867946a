"""Falco's JSON and text formats of an alert, per the json_* and time settings."""

from __future__ import annotations

import json

import msgspec
import pytest

from stockade.outputs.falco_format import falco_json, falco_text
from stockade.outputs.settings import OutputSettings
from tests.outputs.alerts import alert

FALCO_KEYS = ["uuid", "output", "priority", "rule", "time", "output_fields", "source", "tags",
              "hostname"]  # fmt: skip


def test_falco_json_has_falcos_keys_in_its_order() -> None:
    settings = OutputSettings(json_include_stockade_fields=False)
    body = json.loads(falco_json(alert(7), settings))
    assert list(body) == FALCO_KEYS
    assert body["priority"] == "Warning"
    assert body["time"] == "2026-12-06T23:17:03.000000007Z"
    assert body["output_fields"]["proc.pid"] == 1007


@pytest.mark.parametrize(
    ("changes", "absent"),
    [
        ({"json_include_output_property": False}, "output"),
        ({"json_include_tags_property": False}, "tags"),
    ],
    ids=["no-output", "no-tags"],
)
def test_json_include_settings_leave_out_their_key(changes: dict[str, bool], absent: str) -> None:
    settings = msgspec.structs.replace(OutputSettings(), **changes)
    body = json.loads(falco_json(alert(1), settings))
    assert absent not in body
    assert set(FALCO_KEYS) - {absent} <= set(body)


def test_stockade_fields_follow_falcos_by_default() -> None:
    body = json.loads(falco_json(alert(3), OutputSettings()))
    assert list(body)[: len(FALCO_KEYS)] == FALCO_KEYS
    assert (body["seq"], body["count"], body["host_id"]) == (3, 1, "host-a")


def test_text_format_is_falcos_line() -> None:
    line = falco_text(alert(5), OutputSettings(json_output=False)).decode()
    assert line.startswith("23:17:03.000000005: Warning Shell in container (user=root")
    iso = falco_text(alert(5), OutputSettings(json_output=False, time_format_iso_8601=True))
    assert iso.decode().startswith("2026-12-06T23:17:03.000000005+0000: Warning Shell in")
