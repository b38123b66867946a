"""Protect where no permission event can refuse (a memfd exec): the process is killed."""

from __future__ import annotations

import subprocess

from stockade.model import Event, Process
from stockade.model.entities import Container
from stockade.profiles.protection import ExeHashes, kill_at_exec


def test_kill_at_exec_ends_the_process_and_a_gone_one_is_no_error() -> None:
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        event = Event(type="execve", ts=1, proc=Process(pid=sleeper.pid, exepath="/memfd:x"))
        kill_at_exec(event)
        assert sleeper.wait(timeout=10) == -9
        kill_at_exec(event)  # already gone: nothing happens
    finally:
        sleeper.kill()


def test_exe_hashes_read_the_running_executable_once() -> None:
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        proc = Process(pid=sleeper.pid, exepath="/usr/bin/sleep", exe_ino=1)
        event = Event(type="execve", ts=1, proc=proc, container=Container(id="e" * 64))
        hashes = ExeHashes()
        first = hashes(event)
        assert first.startswith("sha256:") and len(first) == 7 + 64
        sleeper.kill()
        sleeper.wait(timeout=10)
        assert hashes(event) == first  # cached per file version: the process may be gone
    finally:
        sleeper.kill()
