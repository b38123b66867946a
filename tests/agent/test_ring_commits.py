"""The ring is committed only past spooled events; a restarted agent repeats none of them."""

from __future__ import annotations

from pathlib import Path

from stockade.agent.ring_commits import STATE_NAME, RingCommits
from stockade.agent.spool import Spool
from stockade.model import Event, Process


class FakeRing:
    """The source's ring positions, moved by the test as reads would move them."""

    def __init__(self, committed: int = 0, produced: int = 0, offset: int = 1000) -> None:
        self.pos = self.committed_at = committed
        self.produced_at = produced
        self.offset = offset

    @property
    def epoch_offset(self) -> int:
        return self.offset

    def position(self) -> int:
        return self.pos

    def committed(self) -> int:
        return self.committed_at

    def produced(self) -> int:
        return self.produced_at

    def commit(self, position: int) -> None:
        assert self.committed_at <= position <= self.pos
        self.committed_at = position

    def set_epoch_offset(self, offset_ns: int) -> None:
        self.offset = offset_ns


def _event(n: int) -> Event:
    return Event(type="execve", ts=n, proc=Process(pid=n))


def _batch(
    commits: RingCommits, ring: FakeRing, spool: Spool, end: int, spooled: list[Event]
) -> int:
    mark = commits.begin_batch()
    ring.pos = end
    spool.append(spooled)
    return mark


def test_replay_after_a_kill_drops_what_was_spooled_and_keeps_the_held(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    ring = FakeRing()
    commits = RingCommits(tmp_path, ring, spool)
    commits.resume(ring_adopted=False)
    _batch(commits, ring, spool, 100, [_event(1), _event(2)])
    commits.commit(None)
    assert ring.committed_at == 100
    held_mark = _batch(commits, ring, spool, 200, [_event(4)])  # event 3 held back
    commits.commit(held_mark)
    _batch(commits, ring, spool, 300, [_event(5)])
    commits.commit(held_mark)
    assert ring.committed_at == 100  # the held event's batch is not freed
    # SIGKILL here: event 3 was never spooled, 4 and 5 were.
    spool.close()
    spool = Spool(tmp_path / "spool")
    restarted = FakeRing(committed=100, produced=300, offset=5)
    commits = RingCommits(tmp_path, restarted, spool)
    commits.resume(ring_adopted=True)
    assert restarted.offset == 1000  # stamped as the last run stamped
    restarted.pos = 300
    replayed = [_event(3), _event(4), _event(5), _event(6)]
    assert [e.ts for e in commits.drop_replayed(replayed)] == [3, 6]
    assert commits.skipped == 2


def test_a_kill_between_state_and_kernel_commit_uses_the_previous_floor(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    ring = FakeRing()
    commits = RingCommits(tmp_path, ring, spool)
    commits.resume(ring_adopted=False)
    _batch(commits, ring, spool, 100, [_event(1)])
    commits.commit(None)
    _batch(commits, ring, spool, 200, [_event(2)])
    commits.commit(None)
    # The file names 200 but the kernel still stood at 100 when the agent died.
    restarted = FakeRing(committed=100, produced=200)
    commits = RingCommits(tmp_path, restarted, spool)
    commits.resume(ring_adopted=True)
    restarted.pos = 200
    assert commits.drop_replayed([_event(2)]) == []
    assert (tmp_path / STATE_NAME).is_file()


def test_a_new_ring_replays_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([_event(1)])
    ring = FakeRing()
    commits = RingCommits(tmp_path, ring, spool)
    commits.resume(ring_adopted=False)
    assert commits.drop_replayed([_event(1)]) == [_event(1)]
