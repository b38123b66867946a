"""Falco's field reference: every syscall-source and container-plugin field is in
Stockade's table, with the type Falco gives it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stockade.rules.fields import FIELDS, FieldType

_ROW = re.compile(r"^`([a-z0-9_.]+)` \| ([A-Z0-9_()]+) \|", re.M)
_PLUGIN_ROW = re.compile(r"^\| `([a-z0-9_.]+)`\s*\| `(\w+)`", re.M)
# Falco's types as Stockade's: integers keep their sign; byte buffers are matched as text.
_TYPES = {
    "CHARBUF": FieldType.STRING,
    "BYTEBUF": FieldType.STRING,
    "string": FieldType.STRING,
    "BOOL": FieldType.BOOL,
    "bool": FieldType.BOOL,
    "IPADDR": FieldType.IPADDR,
    "IPNET": FieldType.IPNET,
    "PORT": FieldType.PORT,
    "ABSTIME": FieldType.ABSTIME,
    "RELTIME": FieldType.RELTIME,
    "DOUBLE": FieldType.DOUBLE,
    "LIST(CHARBUF)": FieldType.LIST,
    "UINT64": FieldType.UINT64,
    "uint64": FieldType.UINT64,
    "UINT32": FieldType.UINT64,  # Stockade's integers are 64-bit
    "INT64": FieldType.INT64,
    "INT32": FieldType.INT64,
    "INT16": FieldType.INT64,
}
_ANY = "DYNAMIC"  # evt.rawarg: the type of the argument


def falco_fields(corpus: Path) -> dict[str, str]:
    """Field name -> Falco type, from the syscall classes and the container plugin."""
    falco = corpus / "falco"
    fields = dict(_ROW.findall((falco / "supported-fields.md").read_text()))
    for name, ftype in _PLUGIN_ROW.findall((falco / "container_plugin_README.md").read_text()):
        fields.setdefault(name, ftype)
    return fields


def test_the_reference_lists_268_fields(corpus: Path) -> None:
    assert len(falco_fields(corpus)) == 268


def test_every_falco_field_is_known_with_its_type(corpus: Path) -> None:
    missing, wrong = [], []
    for name, falco_type in sorted(falco_fields(corpus).items()):
        if name not in FIELDS:
            missing.append(name)
            continue
        field, _ = FIELDS.lookup(name, None)
        if falco_type != _ANY and field.type is not _TYPES[falco_type]:
            wrong.append(f"{name}: {field.type.value}, Falco {falco_type}")
    assert not missing, f"{len(missing)} unknown: {missing}"
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", ["evt.buffer", "proc.env", "fd.nameraw", "user.name"])
def test_fields_of_the_issue_are_there(name: str) -> None:
    assert name in FIELDS
