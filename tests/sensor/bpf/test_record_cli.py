"""`stockade sensor record`: JSON lines keyed by Falco fields, and a summary on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.podman import Podman

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.podman]


def test_record_attributes_container_events(podman: Podman, container: str, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    cmd = [str(Path(sys.executable).parent / "stockade"), "sensor", "record", "--duration", "3"]
    fields = "evt.type,proc.cmdline,container.id,container.full_id,evt.arg.exe,proc.exepath,fd.name"
    proc = subprocess.Popen(
        [*cmd, "--output", str(out), "--fields", fields],
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    # printed once the programs are attached; log lines (e.g. the object built here) may precede it
    status = next(json.loads(line) for line in proc.stderr if line.startswith(b"{"))
    token = uuid.uuid4().hex
    podman.exec(container, "/bin/echo", token)
    podman.exec(container, "sh", "-c", f"echo x > /tmp/{token}; /bin/cat /tmp/{token}")
    summary = json.loads(proc.stderr.read().splitlines()[-1])
    assert proc.wait(timeout=60) == 0
    assert status == {"source": "ebpf", "degraded": None}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary == {"events": len(rows), "dropped": 0}
    mine = [r for r in rows if r["evt.type"] == "execve" and r["proc.cmdline"] == f"echo {token}"]
    assert mine == [
        {
            "evt.type": "execve",
            "proc.cmdline": f"echo {token}",
            "container.id": container[:12],
            "container.full_id": container,
            "evt.arg.exe": "/bin/echo",
            "proc.exepath": "/bin/busybox",
            "fd.name": None,
        }
    ]
    # A later event of a process carries the image its exec reported (process tree).
    reads = [r for r in rows if r["fd.name"] == f"/tmp/{token}" and r["evt.type"] != "execve"]
    assert {(r["proc.cmdline"], r["proc.exepath"]) for r in reads} >= {
        (f"cat /tmp/{token}", "/bin/busybox")
    }
    assert any(r["container.id"] == "host" for r in rows)
