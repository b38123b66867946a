"""Comparing two `nft -j list ruleset` listings as a release must: rules, not traffic (pure)."""

from __future__ import annotations

from typing import Any

from stockade.respond import nftables


def _listing(packets: int, comment: str = "own") -> dict[str, Any]:
    counted = {"counter": {"packets": packets, "bytes": packets * 60}}
    return {
        "nftables": [
            {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
            {"table": {"family": "inet", "name": "app", "handle": 1}},
            {
                "counter": {
                    "family": "inet",
                    "table": "app",
                    "name": "c",
                    "handle": 2,
                    "packets": packets,
                    "bytes": 7,
                }
            },
            {
                "rule": {
                    "family": "inet",
                    "table": "app",
                    "chain": "input",
                    "handle": 4,
                    "comment": comment,
                    "expr": [counted, {"accept": None}],
                }
            },
        ]
    }


def test_counters_running_values_are_no_difference() -> None:
    assert nftables.comparable(_listing(3)) == nftables.comparable(_listing(900))


def test_a_changed_rule_is_a_difference() -> None:
    assert nftables.comparable(_listing(3)) != nftables.comparable(_listing(3, "changed"))


def test_the_listing_itself_is_left_as_it_was() -> None:
    listing = _listing(5)
    nftables.comparable(listing)
    assert listing == _listing(5)
