"""Both attach paths on this kernel: trampolines where it takes them, else the tracepoints
(also when forced), and the clone event the trampoline path writes at the fork."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stockade.model import Event, EventType
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.decoder import RecordDecoder
from stockade.sensor.bpf.loader import LoadedSensor
from stockade.sensor.bpf.shipped import load_object
from stockade.sensor.bpf.trampoline import ATTACH_ENV, TRAMPOLINES
from tests.support.polling import poll_until
from tests.support.sensor import collect_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]


@pytest.mark.parametrize("mode", ["auto", "tracepoint"])
def test_open_is_seen_on_either_path(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ATTACH_ENV, mode)
    source = BpfSource({EventType.OPENAT}, lifecycle=False)
    source.start()
    try:
        assert sorted(source.attached) == ["enter_openat", "exit_openat"]
        by_trampoline = mode == "auto" and TRAMPOLINES.refused is None
        assert source.trampolines == (["enter_openat", "exit_openat"] if by_trampoline else [])
        path = tmp_path / uuid.uuid4().hex
        subprocess.run(["/bin/sh", "-c", f"echo x > {path}"], check=True)
        collect_until(
            source,
            lambda seen: seen,
            10,
            f"the open of {path}",
            keep=lambda e: e.fd is not None and e.fd.name == str(path),
        )
    finally:
        source.stop()


FORKS = """
import os
for _ in range(5):
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.write(1, f"{child}\\n".encode())
    os.waitpid(child, 0)
"""


def test_the_clone_written_at_the_fork_matches_the_childs_own(bpf_source: BpfSource) -> None:
    """on_fork_report (the trampoline path's clone event) against the tracepoint path's."""
    report = load_object(lambda obj: LoadedSensor(obj, ["on_fork_report"])).value
    try:
        bpf_source.poll(0)
        out = subprocess.run([sys.executable, "-c", FORKS], capture_output=True, check=True)
        children = {int(pid) for pid in out.stdout.split()}
        decoder = RecordDecoder(bpf_source.epoch_offset)
        at_fork: dict[int, Event] = {}

        def all_reported() -> bool:
            events, _ = decoder.decode_all(report.poll(50))
            at_fork.update((e.proc.pid, e) for e in events if e.proc.pid in children)
            return at_fork.keys() == children

        poll_until(all_reported, 20, "the clone events written at the fork")
        own = collect_until(
            bpf_source,
            lambda kept: {e.proc.pid for e in kept} >= children,
            20,
            "the children's own clone events",
            keep=lambda e: e.type == "clone" and e.proc.pid in children,
        )
        for event in own:
            twin = at_fork[event.proc.pid]
            assert (twin.type, twin.res, twin.proc, twin.container) == (
                event.type,
                event.res,
                event.proc,
                event.container,
            )
    finally:
        report.close()
