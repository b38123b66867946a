"""Listing the running containers from runtime state files, each parsed once per change."""

from __future__ import annotations

import json
import os
from pathlib import Path

from stockade.context.running import RunningContainers
from stockade.model import Container


class ByPid:
    """Resolves the pids it was told about; every other process is on the host."""

    def __init__(self, containers: dict[int, str]) -> None:
        self.containers = containers

    def for_pid(self, pid: int) -> Container:
        """The container told for `pid`, else the host."""
        known = self.containers.get(pid)
        return Container(id=known) if known else Container.host()


def _write_state(directory: Path, pid: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    state = directory / "state.json"
    state.write_text(json.dumps({"init_process_pid": pid, "config": {"big": "x" * 1000}}))
    return state


def test_lists_containers_whose_init_process_runs(tmp_path: Path) -> None:
    me = os.getpid()
    _write_state(tmp_path / "c1", me)
    _write_state(tmp_path / "gone", 2**22 + 1)  # above any pid this kernel hands out
    (tmp_path / "empty").mkdir()
    listed = RunningContainers(ByPid({me: "a" * 64}), [tmp_path])()
    assert [(c.id, c.pid) for c in listed] == [("a" * 64, me)]


def test_state_file_is_parsed_again_only_once_changed(tmp_path: Path) -> None:
    me, parent = os.getpid(), os.getppid()
    running = RunningContainers(ByPid({me: "a" * 64, parent: "b" * 64}), [tmp_path])
    state = _write_state(tmp_path / "c1", me)
    assert [c.pid for c in running()] == [me]
    stamp = state.stat()
    state.write_text("not json")  # same modification time: the pid known stays
    os.utime(state, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert [c.pid for c in running()] == [me]
    _write_state(tmp_path / "c1", parent)
    os.utime(state, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))
    assert [c.id for c in running()] == ["b" * 64]


def test_host_processes_and_unreadable_states_are_no_container(tmp_path: Path) -> None:
    _write_state(tmp_path / "host", os.getpid())
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "state.json").write_text("{")
    assert RunningContainers(ByPid({}), [tmp_path, tmp_path / "missing"])() == []
