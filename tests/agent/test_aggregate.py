"""AlertAggregator: the first alert at once, repeats counted, the count flushed, none lost."""

from __future__ import annotations

from stockade.agent.aggregate import AlertAggregator, alert_key
from stockade.model import Alert


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _alert(n: int, rule: str = "Shell", container: str = "c1", **fields: object) -> Alert:
    return Alert(
        uuid=f"u{n}",
        output=f"shell {n}",
        priority="Warning",
        rule=rule,
        time=f"t{n}",
        output_fields={"proc.name": "sh", "proc.pid": 1000 + n, "evt.time": n, **fields},
        container_id=container,
        event_seq=n,
    )


def test_first_goes_out_repeats_are_counted_and_leave_with_the_count() -> None:
    clock = FakeClock()
    agg = AlertAggregator(window_s=10, clock=clock)
    assert [a.uuid for a in agg.offer(_alert(1), "/bin/sh")] == ["u1"]
    for n in range(2, 6):
        clock.now += 1
        assert agg.offer(_alert(n), "/bin/sh") == []
    assert agg.due() == []  # the window is still open
    clock.now = 110.0
    [aggregate] = agg.due()
    assert (aggregate.uuid, aggregate.count, aggregate.event_seq) == ("u5", 4, 5)  # the latest
    assert agg.due() == []


def test_a_new_window_starts_after_one_ends() -> None:
    clock = FakeClock()
    agg = AlertAggregator(window_s=10, clock=clock)
    agg.offer(_alert(1), "/bin/sh")
    agg.offer(_alert(2), "/bin/sh")
    clock.now += 10
    # The ended window's aggregate comes first, then the new alert, sent at once.
    sent = agg.offer(_alert(3), "/bin/sh")
    assert [(a.uuid, a.count) for a in sent] == [("u2", 1), ("u3", 1)]
    assert agg.flush() == []


def test_different_rule_container_executable_or_key_field_are_not_merged() -> None:
    agg = AlertAggregator(window_s=10, clock=FakeClock())
    first = [
        agg.offer(_alert(1), "/bin/sh"),
        agg.offer(_alert(2, rule="Other"), "/bin/sh"),
        agg.offer(_alert(3, container="c2"), "/bin/sh"),
        agg.offer(_alert(4), "/bin/bash"),
        agg.offer(_alert(5, **{"fd.name": "/etc/shadow"}), "/bin/sh"),
    ]
    assert [len(sent) for sent in first] == [1, 1, 1, 1, 1]
    assert agg.offer(_alert(6), "/bin/sh") == []  # only the pid and time differ from u1


def test_flush_returns_every_pending_count_and_nothing_is_lost() -> None:
    clock = FakeClock()
    agg = AlertAggregator(window_s=60, clock=clock)
    offered = [_alert(n, rule=f"r{n % 3}") for n in range(30)]
    sent: list[Alert] = []
    for alert in offered:
        clock.now += 0.5
        sent += agg.offer(alert, "/bin/sh")
    sent += agg.flush()
    assert sum(a.count for a in sent) == len(offered)
    assert sorted((a.rule, a.count) for a in sent) == [
        ("r0", 1), ("r0", 9), ("r1", 1), ("r1", 9), ("r2", 1), ("r2", 9)
    ]  # fmt: skip
    assert agg.flush() == []


def test_window_zero_sends_everything() -> None:
    agg = AlertAggregator(window_s=0, clock=FakeClock())
    assert [len(agg.offer(_alert(n), "/bin/sh")) for n in range(3)] == [1, 1, 1]
    assert agg.flush() == []


def test_key_leaves_out_occurrence_fields() -> None:
    a, b = _alert(1), _alert(2)
    assert alert_key(a, "/bin/sh") == alert_key(b, "/bin/sh")
    assert alert_key(a, "/bin/sh") != alert_key(_alert(1, **{"proc.cmdline": "sh -x"}), "/bin/sh")


def test_too_many_kinds_at_once_close_the_oldest_window_early() -> None:
    agg = AlertAggregator(window_s=60, clock=FakeClock(), max_open=2)
    agg.offer(_alert(1, rule="a"), "/bin/sh")
    agg.offer(_alert(2, rule="a"), "/bin/sh")  # counted in a's window
    agg.offer(_alert(3, rule="b"), "/bin/sh")
    sent = agg.offer(_alert(4, rule="c"), "/bin/sh")  # a third kind: a's window closes
    assert [(a.rule, a.count) for a in sent] == [("a", 1), ("c", 1)]
    assert agg.flush() == []
