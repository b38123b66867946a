"""The on-disk spool: sequences, crash recovery, acking, size cap."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stockade.agent.errors import SpoolFull
from stockade.agent.spool import Spool
from stockade.model import Alert, Event, Process


def _event(n: int) -> Event:
    return Event(type="execve", ts=n, proc=Process(pid=n, name=f"p{n}", argv=("x",) * 20))


def _alert(n: int) -> Alert:
    return Alert(uuid=str(n), output="o", priority="Notice", rule="r", time="t", output_fields={})


def test_events_and_alerts_share_one_sequence_that_survives_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.append([_event(1), _event(2)]) == 2
    alert = _alert(1)
    assert spool.append([alert]) == 3 and alert.seq == 3
    spool.close()
    again = Spool(tmp_path)
    assert again.last_seq == 3
    assert again.append([_event(4)]) == 4
    records = again.read(1)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert isinstance(records[2], Alert) and isinstance(records[3], Event)
    assert [r.seq for r in again.read(3, limit=1)] == [3]
    assert [r.seq for r in again.read(4)] == [4]  # continues from the read cursor


def test_torn_tail_is_cut(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_event(n) for n in range(1, 6)])
    spool.close()
    (segment,) = tmp_path.glob("*.seg")
    data = segment.read_bytes()
    segment.write_bytes(data[:-7])  # the last record lost its end in a crash
    again = Spool(tmp_path)
    assert again.truncated_bytes > 0
    assert again.last_seq == 4
    assert [r.seq for r in again.read(1)] == [1, 2, 3, 4]
    assert again.append([_event(9)]) == 5
    assert [r.seq for r in again.read(1)] == [1, 2, 3, 4, 5]


def test_corrupt_record_ends_the_valid_part(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([_event(n) for n in range(1, 4)])
    spool.close()
    (segment,) = tmp_path.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[-3] ^= 0xFF  # a flipped bit in the last record fails its CRC
    segment.write_bytes(bytes(data))
    assert Spool(tmp_path).last_seq == 2


def test_acked_segments_are_deleted_and_the_cursor_persists(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=2000)
    for n in range(1, 41):
        spool.append([_event(n)])
    segments = len(list(tmp_path.glob("*.seg")))
    assert segments > 3
    spool.ack(25)
    left = sorted(tmp_path.glob("*.seg"))
    assert len(left) < segments
    assert int(left[0].name.removesuffix(".seg")) <= 26  # seq 26 is still there
    assert [r.seq for r in spool.read(26)] == list(range(26, 41))
    spool.ack(40)
    assert len(list(tmp_path.glob("*.seg"))) == 1  # the active segment stays
    spool.close()
    again = Spool(tmp_path, segment_bytes=2000)
    assert again.acked_seq == 40 and again.last_seq == 40
    assert again.append([_event(41)]) == 41


def test_full_spool_refuses_new_records_and_keeps_old_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=6000)
    accepted = 0
    with pytest.raises(SpoolFull, match="cap"):
        while True:
            spool.append([_event(accepted + 1)])
            accepted += 1
    assert spool.rejected == 1 and accepted > 3
    assert len(spool.read(1)) == accepted
    assert spool.append([_alert(1)]) == accepted + 1  # alerts may use the reserved 5 %
    accepted += 1
    spool.ack(accepted)
    assert spool.append([_event(99)]) == accepted + 1  # room again once acked


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from stockade.agent.spool import Spool
    from stockade.model import Event, Process
    spool = Spool(Path(sys.argv[1]), segment_bytes=50_000, fsync_every=10_000)
    n = 0
    while True:
        n += 1
        seq = spool.append([Event(type="execve", ts=n, proc=Process(pid=n, name="w"))])
        print(seq, flush=True)
    """
)


def test_records_survive_kill_9_of_the_writer(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE)
    assert writer.stdout is not None
    reported = 0
    while reported < 3000:
        reported = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    spool = Spool(tmp_path, segment_bytes=50_000)
    assert spool.last_seq >= reported
    seqs = [r.seq for r in spool.read(1, limit=1_000_000, max_bytes=1 << 30)]
    assert seqs == list(range(1, spool.last_seq + 1))


@pytest.mark.root
def test_disk_full_refuses_new_records_and_keeps_old_ones(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        spool = Spool(mount / "spool", fsync_every=1)
        accepted = 0
        with pytest.raises(SpoolFull, match="disk full"):
            while True:
                spool.append([_event(n) for n in range(accepted + 1, accepted + 11)])
                accepted += 10
        assert spool.rejected == 10 and spool.last_seq == accepted
        spool.close()
        again = Spool(mount / "spool")
        assert again.truncated_bytes == 0  # the refused batch left nothing half-written
        assert [r.seq for r in again.read(1, limit=100_000)] == list(range(1, accepted + 1))
        again.close()
    finally:
        subprocess.run(["umount", str(mount)], check=True)
