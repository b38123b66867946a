"""Query times: ns integers and RFC 3339 (with up to nanoseconds) mean the same instant."""

from __future__ import annotations

import pytest

from stockade.platform.timestamps import format_ns, parse_ns

NS = 1_700_000_000_123_456_789


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        (str(NS), NS),
        ("2023-11-14T22:13:20.123456789Z", NS),
        ("2023-11-14T22:13:20.123456789+00:00", NS),
        ("2023-11-14T23:13:20.123456789+01:00", NS),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000_000_000),
        ("2023-11-14 22:13:20.5z", 1_700_000_000_500_000_000),
    ],
    ids=["ns", "utc-ns", "offset-zero", "offset-one", "no-fraction", "space-lowercase"],
)
def test_parse(text: str, ns: int) -> None:
    assert parse_ns(text) == ns


@pytest.mark.parametrize("text", ["yesterday", "2023-11-14", "2023-13-40T00:00:00Z", ""])
def test_parse_refuses_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_ns(text)


def test_format_round_trips() -> None:
    assert format_ns(NS) == "2023-11-14T22:13:20.123456789Z"
    assert parse_ns(format_ns(NS)) == NS
