"""Spool records: events leave the host without the environment and /proc snapshot the
agent read for its own rules."""

from __future__ import annotations

from stockade.agent import records
from stockade.model import Alert, Ancestor, Event, Process, ProcSnapshot


def _event(seq: int) -> Event:
    proc = Process(pid=5, name="app", env=("AWS_SECRET_ACCESS_KEY=x",), snapshot=ProcSnapshot())
    parent = Ancestor(pid=4, name="sh", env=("TOKEN=y",))
    return Event(type="openat", ts=1, proc=proc, ancestors=(parent,), seq=seq)


def _roundtrip(record: records.Record) -> records.Record:
    data = records.encode(record)
    ((offset, end, seq, kind),) = records.scan(data)
    return records.decode(records.raw(data, offset, end, seq, kind))


def test_events_are_spooled_without_environment_or_snapshot() -> None:
    event = _event(7)
    stored = _roundtrip(event)
    assert isinstance(stored, Event)
    assert (stored.proc.env, stored.proc.snapshot, stored.ancestors[0].env) == ((), None, ())
    assert (stored.proc.name, stored.ancestors[0].name, stored.seq) == ("app", "sh", 7)
    assert event.proc.env  # the agent's own copy keeps them for its rules


def test_alerts_keep_what_their_rules_printed() -> None:
    alert = Alert(
        uuid="u",
        output="o",
        priority="Warning",
        rule="r",
        time="t",
        output_fields={"proc.env": "A=1"},
        seq=3,
    )
    stored = _roundtrip(alert)
    assert isinstance(stored, Alert) and stored.output_fields == {"proc.env": "A=1"}


def test_the_wire_copies_kept_stay_bounded_after_a_burst_of_execs() -> None:
    # Each kept entry holds a process with its environment: a burst of execs must not
    # leave every one of them resident.
    env = tuple(f"VAR{i}=value" for i in range(20))
    for pid in range(3 * records._MEMO_MAX):
        proc = Process(pid=pid, name="cat", env=env, snapshot=ProcSnapshot(fdlimit=1024))
        chain = (Ancestor(pid=1, name="sh", env=env),)
        wire = records.for_wire(Event(type="execve", ts=pid, proc=proc, ancestors=chain))
        assert wire.proc.env == () and wire.proc.snapshot is None
        assert wire.ancestors[0].env == ()
    assert len(records._procs) <= records._MEMO_MAX
    assert len(records._chains) <= records._MEMO_MAX
