"""The event model's JSON Lines capture form round-trips and reports bad lines."""

from __future__ import annotations

import msgspec
import pytest

from stockade.model import Container, Event, Process
from stockade.model.events import decode_jsonl, encode_jsonl


def test_jsonl_round_trip() -> None:
    event = Event(
        type="execve",
        ts=1,
        proc=Process(pid=10, name="sh", argv=("sh", "-i")),
        container=Container(id="a" * 64, name="web", image="busybox"),
    )
    [back] = list(decode_jsonl(encode_jsonl([event])))
    assert back == event
    assert back.proc.cmdline == "sh -i"


def test_host_events_carry_container_id_host() -> None:
    event = Event(type="execve", ts=1, proc=Process(pid=1))
    assert event.container.id == "host"
    assert event.container.is_host


def test_bad_line_names_origin_and_line() -> None:
    good = encode_jsonl([Event(type="open", ts=1, proc=Process(pid=1))])
    with pytest.raises(msgspec.ValidationError, match="cap.jsonl:2"):
        list(decode_jsonl(good + b'{"type": 3}\n', origin="cap.jsonl"))
