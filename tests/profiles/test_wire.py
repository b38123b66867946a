"""Profile messages from agents: decoded strictly, so the store never sees what it cannot keep."""

from __future__ import annotations

import msgspec
import pytest

from stockade.profiles.wire import LearnedReport

INT64_MAX = 2**63 - 1


def _report(first_seen_ns: int) -> bytes:
    group = {"id": "g", "name": "localhost/web", "first_seen_ns": first_seen_ns}
    return msgspec.json.encode({"groups": [group]})


@pytest.mark.parametrize("first_seen_ns", [0, INT64_MAX], ids=["zero", "int64-max"])
def test_a_first_sighting_within_int64_decodes(first_seen_ns: int) -> None:
    report = msgspec.json.decode(_report(first_seen_ns), type=LearnedReport)
    assert report.groups[0].first_seen_ns == first_seen_ns


@pytest.mark.parametrize("first_seen_ns", [-1, INT64_MAX + 1], ids=["negative", "past-int64"])
def test_a_first_sighting_the_store_cannot_keep_is_refused(first_seen_ns: int) -> None:
    with pytest.raises(msgspec.ValidationError, match="first_seen_ns"):
        msgspec.json.decode(_report(first_seen_ns), type=LearnedReport)
