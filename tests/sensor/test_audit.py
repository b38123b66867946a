"""The audit source: records as the kernel sends them -> execve Events, and live execs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.podman import PodmanRuntime
from stockade.model import Event
from stockade.sensor import procfs
from stockade.sensor.audit import (
    AUDIT_CWD,
    AUDIT_EOE,
    AUDIT_EXECVE,
    AUDIT_PATH,
    AUDIT_PROCTITLE,
    AUDIT_SYSCALL,
    AuditAssembler,
    AuditSource,
    execve_argv,
    is_own_rule,
    parse_fields,
    rule_data,
    tty_number,
)
from stockade.sensor.base import SOURCES, EventSource
from stockade.sensor.fallback import choose_source
from tests.support.ci import require
from tests.support.podman import BASE_FLAGS, Podman
from tests.support.polling import poll_until

X86_64 = (0xC000003E, (59, 322))
HEAD = "audit(1795860793.933:76): "
SYSCALL = (
    "arch=c000003e syscall=59 success=yes exit=0 a0=7f577b4c51d0 a1=7f577b45bbb0 "
    "a2=7ffcadaddf90 a3=8 items=2 ppid=16113 pid=16515 auid=1000 uid=0 gid=0 euid=0 "
    'suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=3 comm="echo" exe="/usr/bin/echo" '
    'subj=unconfined key="stockade"'
)
PATH0 = (
    'item=0 name="/bin/echo" inode=260249 dev=fe:00 mode=0100755 ouid=0 ogid=0 '
    "rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
)


def _records(*execve: str, eoe: bool = True) -> list[tuple[int, str]]:
    records = [(AUDIT_SYSCALL, HEAD + SYSCALL)]
    records += [(AUDIT_EXECVE, HEAD + text) for text in execve]
    records += [
        (AUDIT_CWD, HEAD + 'cwd="/tmp"'),
        (AUDIT_PATH, HEAD + PATH0),
        (AUDIT_PROCTITLE, HEAD + "proctitle=2F62696E2F6563686F006869"),
    ]
    return records + ([(AUDIT_EOE, HEAD)] if eoe else [])


def _feed(records: list[tuple[int, str]]) -> tuple[AuditAssembler, list[Event]]:
    assembler = AuditAssembler(*X86_64)
    events: list[Event] = []
    for rtype, text in records:
        events += assembler.feed(rtype, text)
    return assembler, events


@pytest.mark.parametrize(
    ("execve", "argv"),
    [
        (['argc=2 a0="/bin/echo" a1="hi"'], ("/bin/echo", "hi")),
        (['argc=2 a0="/bin/echo" a1=6869207468657265'], ("/bin/echo", "hi there")),
        (
            [
                'argc=3 a0="/bin/echo" a1="x" a2_len=6 a2[0]=616263',
                " a2[1]=64650A",
            ],
            ("/bin/echo", "x", "abcde\n"),
        ),
        (['argc=2 a0="/bin/echo" a1=""'], ("/bin/echo", "")),
        ([], ("/bin/echo", "hi")),  # EXECVE lost: argv from PROCTITLE
    ],
    ids=["quoted", "hex", "split-long-arg", "empty-arg", "proctitle-fallback"],
)
def test_records_make_one_execve(execve: list[str], argv: tuple[str, ...]) -> None:
    _, events = _feed(_records(*execve))
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.source, event.res) == ("execve", "audit", 0)
    assert event.ts == 1795860793_933_000_000
    proc = event.proc
    assert (proc.pid, proc.ppid, proc.name, proc.exepath) == (16515, 16113, "echo", "/usr/bin/echo")
    assert (proc.uid, proc.euid, proc.gid, proc.egid, proc.loginuid) == (0, 0, 0, 0, 1000)
    assert (proc.argv, proc.cwd, proc.tty, proc.cgroup_id) == (argv, "/tmp", 136 << 8 | 1, 0)


def test_missing_eoe_is_emitted_a_round_later() -> None:
    assembler, events = _feed(_records('argc=1 a0="/bin/echo"', eoe=False))
    assert events == []
    assert assembler.tick() == []  # it may still come
    late = assembler.tick()
    assert [e.proc.argv for e in late] == [("/bin/echo",)]
    assert assembler.flush() == []


def test_other_syscalls_and_records_are_ignored() -> None:
    other = SYSCALL.replace("syscall=59", "syscall=44").replace('key="stockade"', "key=(null)")
    assembler = AuditAssembler(*X86_64)
    assert assembler.feed(1305, HEAD + 'op=add_rule key="stockade" list=4 res=1') == []
    assert assembler.feed(AUDIT_SYSCALL, HEAD + other) == []
    assert assembler.feed(AUDIT_EOE, HEAD) == []


def test_failed_exec_keeps_its_error_and_unset_ids() -> None:
    failed = SYSCALL.replace("success=yes exit=0", "success=no exit=-2").replace(
        "auid=1000", "auid=4294967295"
    )
    _, events = _feed([(AUDIT_SYSCALL, HEAD + failed), (AUDIT_EOE, HEAD)])
    assert events[0].res == -2 and events[0].proc.loginuid == -1


def test_parse_fields_and_helpers() -> None:
    ts, serial, fields = parse_fields(HEAD + 'cwd="/a b"')
    assert (ts, serial, fields) == (1795860793_933_000_000, 76, {"cwd": '"/a b"'})
    assert execve_argv([{"argc": "1", "a0": "2F62696E2F7368"}]) == ("/bin/sh",)
    assert (tty_number("(none)"), tty_number("tty2"), tty_number("pts300")) == (0, 1026, 1083436)
    assert is_own_rule(rule_data(*X86_64)) and not is_own_rule(rule_data(*X86_64, key="other"))
    with pytest.raises(ValueError, match="not an audit record"):
        parse_fields("type=SYSCALL msg=...")


def test_registered() -> None:
    assert SOURCES.get("audit") is AuditSource


def _auditctl(*args: str) -> str:
    return subprocess.run(["auditctl", *args], check=True, capture_output=True, text=True).stdout


def _audit_enabled() -> str:
    return next(line for line in _auditctl("-s").splitlines() if line.startswith("enabled"))


def _needs_auditctl() -> None:
    require(shutil.which("auditctl"), "auditctl missing (scripts/install-system-deps.sh test)")


def _collect(
    source: EventSource,
    wanted: int,
    pick: Callable[[Event], bool],
    stage: ContextStage | None = None,
) -> list[Event]:
    """Poll until `wanted` execs that `pick` came (each event through `stage` when given)."""
    events: list[Event] = []

    def enough() -> bool:
        for event in source.poll(0.1):
            done = stage.enrich(event) if stage is not None else event
            if done.type == "execve" and pick(done):
                events.append(done)
        return len(events) >= wanted

    poll_until(enough, 20, f"{wanted} exec events", interval=0)
    return events


def _stage() -> ContextStage:
    tree = ProcessTree()
    tree.seed(procfs.scan())
    return ContextStage(tree, ContainerResolver([PodmanRuntime()]))


@pytest.mark.root
def test_burst_of_short_execs_all_seen_with_argv(tmp_path: Path) -> None:
    binary = tmp_path / f"stk-{uuid.uuid4().hex[:8]}"
    shutil.copy("/bin/true", binary)
    choice = choose_source(disabled={"ebpf"})
    try:
        assert (choice.name, choice.degraded) == (
            "audit+proc_connector+fanotify",
            "ebpf: disabled by flag",
        )
        loop = f"i=0; while [ $i -lt 200 ]; do {binary} arg$i; i=$((i+1)); done"
        burst = subprocess.Popen(["/bin/sh", "-c", loop])
        events = _collect(choice.source, 200, lambda e: e.proc.name == binary.name, _stage())
        assert burst.wait(timeout=30) == 0
    finally:
        choice.source.stop()
    assert {e.source for e in events} == {"audit"}  # the proc connector left execs to audit
    assert sorted(e.proc.argv[1] for e in events) == sorted(f"arg{i}" for i in range(200))
    assert all(e.proc.exepath == str(binary) and e.proc.cwd for e in events)
    # Through the context stage: the shell is each exec's parent, and the host its container.
    assert all(e.proc.ppid == burst.pid and e.container.id == "host" for e in events)
    assert all(e.ancestors and e.ancestors[0].pid == burst.pid for e in events)


@pytest.mark.root
@pytest.mark.podman
def test_exec_in_a_container_resolves_to_it(podman: Podman, busybox_image: str) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    stage = _stage()
    source = AuditSource()
    source.start()
    try:
        marker = f"m{uuid.uuid4().hex[:8]}"
        # Alive for a second: the cgroup is read from /proc when the record comes.
        shell = ["sh", "-c", "sleep 1", marker]
        run = subprocess.Popen(["podman", *BASE_FLAGS, "exec", container, *shell])
        events = _collect(source, 1, lambda e: e.proc.argv == tuple(shell))
        run.wait(timeout=30)
    finally:
        source.stop()
    assert events, "no exec seen in the container"
    assert events[0].proc.argv == tuple(shell)
    enriched = stage.enrich(events[0])
    cgroup = os.stat(f"/sys/fs/cgroup/unified/libpod_parent/libpod-{container}").st_ino
    assert enriched.proc.cgroup_id == cgroup
    assert enriched.container.id != "host" and container.startswith(enriched.container.id)


def _holder(state: Path) -> subprocess.Popen[str]:
    """Another process running the audit source (the same code, as a second agent would)."""
    code = (
        "import sys; from pathlib import Path; from stockade.sensor.audit import AuditSource; "
        "s = AuditSource(state_path=Path(sys.argv[1])); s.start(); print('ready', flush=True); "
        "sys.stdin.read(); s.stop()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
    return holder


@pytest.mark.root
def test_stop_removes_own_and_stale_rules_and_restores_state(tmp_path: Path) -> None:
    _needs_auditctl()
    before_rules, before_enabled = _auditctl("-l"), _audit_enabled()
    # A rule left by a run that crashed: the next start removes it.
    _auditctl("-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-k", "stockade")
    source = AuditSource(state_path=tmp_path / "state")
    source.start()
    try:
        listed = _auditctl("-l")
        assert listed.count("key=stockade") == 1 and "execve,execveat" in listed
        assert _audit_enabled() == "enabled 1"
    finally:
        source.stop()
    assert (_auditctl("-l"), _audit_enabled()) == (before_rules, before_enabled)
    assert not (tmp_path / "state").exists()


@pytest.mark.root
def test_after_a_crash_the_next_run_restores_the_state_before_both(tmp_path: Path) -> None:
    _needs_auditctl()
    before_rules, before_enabled = _auditctl("-l"), _audit_enabled()
    crashed = _holder(tmp_path / "state")
    crashed.kill()
    crashed.communicate(timeout=10)
    assert "key=stockade" in _auditctl("-l")
    assert AuditSource.unavailable_reason() is None  # a dead holder does not count
    source = AuditSource(state_path=tmp_path / "state")
    source.start()
    source.stop()
    assert (_auditctl("-l"), _audit_enabled()) == (before_rules, before_enabled)


@pytest.mark.root
def test_refuses_when_another_listener_holds_the_audit_pid(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "state")
    try:
        reason = AuditSource.unavailable_reason()
        assert reason is not None and "held by python" in reason and "not taking it" in reason
    finally:
        holder.communicate("", timeout=10)
    assert AuditSource.unavailable_reason() is None
