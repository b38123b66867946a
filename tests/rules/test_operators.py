"""Operators, transformers, modifiers and missing values, through the compiled predicates."""

from __future__ import annotations

import pytest

from stockade.model import Ancestor, Event, FdInfo, Process
from stockade.model.entities import Container
from stockade.rules import RuleCompileError, parse_condition
from stockade.rules.compiler import ConditionCompiler
from stockade.rules.fields import FIELDS

EVENT = Event(
    type="connect",
    ts=5_000_000_000,
    proc=Process(
        pid=7,
        name="curl",
        exepath="/usr/bin/curl",
        argv=("curl", "-s", "http://169.254.169.254/latest"),
        env=("HOME=/root", "PATH=/bin"),
        euid=0,
        start_ns=1_000_000_000,
    ),
    ancestors=(Ancestor(pid=6, name="bash"), Ancestor(pid=5, name="sshd")),
    fd=FdInfo(
        num=3,
        type="ipv4",
        l4proto="tcp",
        name="10.0.0.2:40000->169.254.169.254:80",
        sip="10.0.0.2",
        sport=40000,
        dip="169.254.169.254",
        dport=80,
    ),
    container=Container(id="c" * 64, name="web", image_repository="docker.io/library/nginx"),
)


def matches(condition: str, event: Event = EVENT) -> bool:
    predicate = ConditionCompiler(FIELDS).compile(parse_condition(condition))
    return bool(predicate(event))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("proc.name = curl", True),
        ("proc.name == curl and proc.name != wget", True),
        ("proc.name in (wget, curl)", True),
        ("proc.name contains ur", True),
        ("proc.name icontains UR", True),
        ("proc.name startswith cu and proc.name endswith rl", True),
        ("proc.exepath glob /usr/*/cu?l", True),
        ("proc.exepath iglob /USR/BIN/*", True),
        ("proc.exepath regex '/usr/bin/c.*'", True),
        ("proc.exepath regex 'bin'", False),  # whole-string match, as RE2 FullMatch
        ("proc.exepath pmatch (/usr/bin, /opt)", True),
        ("proc.exepath pmatch (/usr/bi)", False),
        ("proc.name bcontains 7572", True),  # hex of "ur"
        ("proc.name bstartswith 6375", True),  # hex of "cu"
        ("fd.sport = 80 and fd.sport >= 80 and fd.sport < 81 and fd.sport in (22, 80)", True),
        ("fd.cport > 1024", True),
        ("fd.sip = 169.254.169.254", True),
        ("fd.snet = 169.254.0.0/16", True),
        ("fd.snet in (10.0.0.0/8, 192.168.0.0/16)", False),
        ("fd.net = 10.0.0.0/8", True),  # either side of the connection
        ("fd.rip = 169.254.169.254 and fd.lip = 10.0.0.2", True),
        ("fd.typechar = 4 and fd.l4proto = tcp", True),
        ("proc.aname[1] = bash and proc.aname[2] = sshd and proc.aname[3] exists", False),
        ("proc.aname = sshd", True),  # without an index: any ancestor
        ("proc.pname = bash and proc.aname[0] = curl", True),
        ("proc.env[HOME] = /root and proc.env contains 'PATH='", True),
        ("proc.args = '-s http://169.254.169.254/latest'", True),
        ("proc.cmdline startswith 'curl -s'", True),
        ("container.id = cccccccccccc and container.full_id startswith ccc", True),
        ("container.image.repository endswith nginx", True),
        ("proc.duration > 3000000000", True),
        ("fd.name exists and not fd.filename exists", True),  # sockets have no file name
        ("evt.arg.flags exists", False),
        ("evt.arg.flags != x", False),  # a missing value makes every check false
        ("not evt.arg.flags = x", True),
        ("tolower(container.name) = web and toupper(proc.name) = CURL", True),
        ("len(proc.name) = 4 and basename(proc.exepath) = curl", True),
        ("proc.name = val(proc.name) and proc.name != val(proc.pname)", True),
        ('concat(proc.name, "-", proc.pname) = curl-bash', True),
        ('join("/", (proc.pname, proc.name)) = bash/curl', True),
        ('getopt(proc.args, "s:")[s] startswith http', True),
        ("proc.name = oneof (wget, curl)", True),
        ("proc.exepath endswith anyof (/wget, /curl)", True),
        ("proc.exepath contains allof (/usr, curl)", True),
        ("proc.exepath contains allof (/usr, wget)", False),
    ],
)
def test_condition(condition: str, expected: bool) -> None:
    assert matches(condition) is expected


def test_open_flags_rendering_and_predicates() -> None:
    event = Event(
        type="openat",
        ts=1,
        proc=Process(pid=1, name="sh"),
        fd=FdInfo(num=4, type="file", name="/etc/x", flags=0o1101),
        args={"flags": 0o1101},
    )
    assert matches("evt.is_open_write = true and evt.is_open_read = false", event)
    assert matches("evt.arg.flags contains O_TRUNC and evt.arg.flags contains O_CREAT", event)
    assert matches("fd.directory = /etc and fd.filename = x", event)


@pytest.mark.parametrize(
    "condition",
    [
        "proc.nope = 1",  # unknown field
        "proc.pid contains 1",  # string operator on a number
        "proc.pid = abc",  # not a number
        "container.privileged = maybe",  # not a bool
        "fd.sip = not-an-ip",
        "proc.aname[x] = bash",  # index must be a number
        "proc.name regex '('",  # bad regular expression
    ],
)
def test_compile_errors(condition: str) -> None:
    with pytest.raises(RuleCompileError):
        matches(condition)
