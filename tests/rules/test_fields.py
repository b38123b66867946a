"""The field table: coverage of Falco's rule files, the documented mapping, robustness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stockade.model import Ancestor, Event, FdInfo, Process
from stockade.model.entities import Container, Mount
from stockade.rules.fields import FIELDS, ArgKind, FieldDef
from stockade.rules.fields.base import INLINE_HELPERS, FieldType
from stockade.rules.fields.evt_time import Around

_FIELD = re.compile(
    r"%?\b((?:evt|proc|user|group|fd|container|k8s|thread|fs)\.[a-zA-Z0-9_.]*[a-zA-Z0-9_])"
    r"(\[[^\]]*\])?"
)
MINIMAL = Event(type="openat", ts=1, proc=Process(pid=1))
RICH = Event(
    type="accept4",
    ts=10**18 + 5,
    proc=Process(
        pid=20,
        tid=21,
        ppid=19,
        vpid=2,
        name="nginx",
        exepath="/usr/sbin/nginx",
        argv=("nginx", "-g", "daemon off;"),
        uid=33,
        euid=33,
        gid=33,
        egid=33,
        loginuid=-1,
        user="www-data",
        tty=0,
        sid=19,
        vpgid=2,
        start_ns=10**18,
        cap_effective=(1 << 21) | 1,
        env=("LANG=C",),
    ),
    ancestors=(Ancestor(pid=19, name="containerd-shim", argv=("containerd-shim",)),),
    fd=FdInfo(
        num=6,
        type="ipv6",
        l4proto="tcp",
        name="::1:5555->::1:80",
        sip="::1",
        sport=5555,
        dip="::1",
        dport=80,
        is_server=True,
    ),
    container=Container(
        id="f" * 64,
        name="web",
        runtime="podman",
        image="nginx:1.25",
        image_repository="nginx",
        image_tag="1.25",
        labels={"app": "web"},
        mounts=(Mount(source="/srv", dest="/usr/share/nginx/html", mode="ro", rw=False),),
        pod_name="web-0",
        pod_namespace="prod",
        pod_labels={"tier": "front"},
        start_ts=10**18,
    ),
    args={"flags": 0o2004000, "tuple": "::1:5555->::1:80"},
    res=6,
    seq=99,
)


def _sample_arg(fdef: FieldDef) -> str | None:
    if fdef.arg in (ArgKind.INDEX, ArgKind.OPTIONAL_INDEX):
        return "1"
    if fdef.arg is ArgKind.KEY:
        return "flags" if fdef.name.startswith("evt.") else "app"
    return None


def test_every_field_of_falco_rules_is_known(corpus: Path) -> None:
    text = "".join(
        (corpus / "falco/rules" / name).read_text()
        for name in ("falco_rules.yaml", "falco-incubating_rules.yaml")
    )
    used = {m.group(1) for m in _FIELD.finditer(text)}
    used -= {"k8s.io", "user.log", "fs.path"}  # inside values and comments, not fields
    missing = []
    for name in sorted(used):
        try:
            FIELDS.lookup(name, None)
        except Exception:  # noqa: BLE001 - collecting every miss
            missing.append(name)
    assert missing == []
    assert len(used) > 80


_PYTHON_TYPES: dict[FieldType, tuple[type, ...]] = {
    FieldType.STRING: (str,),
    FieldType.INT64: (int,),
    FieldType.UINT64: (int, Around),  # evt.around[T] compares with '=' only
    FieldType.BOOL: (bool,),
    FieldType.IPADDR: (str,),
    FieldType.IPNET: (str,),
    FieldType.PORT: (int,),
    FieldType.ABSTIME: (int,),
    FieldType.RELTIME: (int,),
    FieldType.LIST: (str,),  # the items of the tuple
    FieldType.DOUBLE: (float, int),
}


def _fits(fdef: FieldDef, arg: str | None, value: object) -> bool:
    """True when `value` is what `fdef` declares: None (absent), or its type, or a tuple of
    it for a list field or a multi-valued field read without an argument."""
    if value is None:
        return fdef.type is not FieldType.LIST  # an absent list is empty, not None
    wanted = _PYTHON_TYPES[fdef.type]
    if fdef.type is FieldType.LIST or (fdef.multi and arg is None):
        return isinstance(value, tuple) and all(isinstance(v, wanted) for v in value)
    if fdef.type is not FieldType.BOOL and isinstance(value, bool):
        return False  # bool is an int to isinstance, not to a rule
    return isinstance(value, wanted)


@pytest.mark.parametrize("event", [MINIMAL, RICH], ids=["minimal", "rich"])
def test_every_field_extracts_a_value_of_its_type(event: Event) -> None:
    wrong = []
    for fdef in FIELDS:
        for arg in (
            {None, _sample_arg(fdef)}
            if fdef.arg.value.startswith("optional")
            else {_sample_arg(fdef)}
        ):
            value = fdef.extractor(arg)(event)
            if not _fits(fdef, arg, value):
                wrong.append((fdef.name, arg, fdef.type.value, value))
    assert wrong == []


OPEN_WRITE = Event(
    type="openat",
    ts=1,
    proc=Process(pid=3, name="sh", argv=(), vpid=0, tty=34816),
    fd=FdInfo(num=4, type="file", name="/tmp/x", flags=0o1101),
    seq=7,
)


@pytest.mark.parametrize("event", [MINIMAL, RICH, OPEN_WRITE], ids=["minimal", "rich", "open"])
def test_inline_expressions_agree_with_extractors(event: Event) -> None:
    checked = 0
    for fdef in FIELDS:
        for arg in (None, "1", "2", "3"):
            code = fdef.inline_for(arg)
            if not code:
                continue
            inline = eval(f"lambda e: {code}", dict(INLINE_HELPERS))  # noqa: S307
            assert inline(event) == fdef.extractor(arg)(event), (fdef.name, arg)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("field", "arg", "expected"),
    [
        ("evt.type", None, "accept4"),
        ("evt.num", None, 99),
        ("evt.res", None, "SUCCESS"),
        ("evt.rawres", None, 6),
        ("evt.arg", "tuple", "::1:5555->::1:80"),
        ("evt.arg", "0", "526336"),  # flags of a non-open event: the number
        ("proc.exe", None, "nginx"),
        ("proc.args", None, "-g daemon off;"),
        ("proc.args", "0", "-g"),  # indexed from 0: the first argument after argv[0]
        ("proc.args", "1", "daemon off;"),
        ("proc.args", "2", None),
        ("proc.cmdline", None, "nginx -g daemon off;"),
        ("proc.pname", None, "containerd-shim"),
        ("proc.aname", "1", "containerd-shim"),
        ("proc.aname", "2", None),
        ("proc.vpid", None, 2),
        ("proc.is_vpgid_leader", None, True),
        ("proc.env", "LANG", "C"),
        ("proc.duration", None, 5),
        ("thread.cap_effective", None, "CAP_CHOWN CAP_SYS_ADMIN"),
        ("user.uid", None, 33),
        ("user.name", None, "www-data"),
        ("user.loginuid", None, -1),
        ("fd.typechar", None, "6"),
        ("fd.sockfamily", None, "ip"),
        ("fd.cip", None, "::1"),
        ("fd.sport", None, 80),
        ("fd.lport", None, 80),
        ("fd.rport", None, 5555),
        ("container.id", None, "ffffffffffff"),
        ("container.full_id", None, "f" * 64),
        ("container.type", None, "podman"),
        ("container.label", "app", "web"),
        ("container.mount.dest", "/srv", "/usr/share/nginx/html"),
        ("k8s.ns.name", None, "prod"),
        ("k8s.pod.label", "tier", "front"),
    ],
)
def test_documented_mapping(field: str, arg: str | None, expected: object) -> None:
    fdef, effective = FIELDS.lookup(field, arg)
    assert fdef.extractor(effective)(RICH) == expected


def test_dotted_arguments_and_host_defaults() -> None:
    fdef, arg = FIELDS.lookup("container.label.app", None)
    assert (fdef.name, arg) == ("container.label", "app")
    host = MINIMAL
    assert FIELDS.lookup("container.id", None)[0].extractor(None)(host) == "host"
    assert FIELDS.lookup("user.name", None)[0].extractor(None)(host) is None
    assert FIELDS.lookup("evt.num", None)[0].extractor(None)(host) == 1
    assert FIELDS.lookup("fd.name", None)[0].extractor(None)(host) is None


def test_server_name_fields_follow_the_server_side() -> None:
    def read(name: str, fd: FdInfo) -> object:
        event = Event(type="connect", ts=1, proc=Process(pid=1), fd=fd)
        fdef, arg = FIELDS.lookup(name, None)
        return fdef.extractor(arg)(event)

    client = FdInfo(type="ipv4", sip="10.0.0.2", dip="10.96.0.1", sip_name="api.example")
    assert [read(f"fd.{s}.name", client) for s in ("sip", "rip", "lip", "cip")] == [
        "api.example",
        "api.example",
        None,
        None,
    ]
    server = FdInfo(type="ipv4", sip="10.0.0.2", dip="10.0.0.9", sip_name="me", is_server=True)
    assert [read(f"fd.{s}.name", server) for s in ("sip", "rip", "lip")] == ["me", None, "me"]
    assert read("fd.sip.name", FdInfo(type="ipv4", dip="10.96.0.1")) is None
