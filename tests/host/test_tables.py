"""Inventory tables against this machine's own truth (os-release, dpkg-query, /proc)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stockade.host.collect import chosen_tables, collect, container_scopes
from stockade.host.system import os_release
from stockade.host.table import TABLES, Scope
from tests.support.ci import require, require_file
from tests.support.podman import Podman
from tests.support.polling import poll_until

DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"
OSQUERY_NAMES = {
    "os_version", "system_info", "deb_packages", "rpm_packages", "apk_packages",
    "python_packages", "npm_packages", "users", "groups", "logged_in_users", "last",
    "listening_ports", "process_open_sockets", "processes", "kernel_modules", "systemd_units",
    "crontab", "suid_bin", "shell_history", "routes", "arp_cache", "interface_addresses",
    "interface_details", "mounts", "dns_resolvers", "block_devices", "memory_info",
    "cpu_info", "uptime",
}  # fmt: skip


def rows(name: str, scope: Scope | None = None) -> list[dict[str, Any]]:
    """The table's rows on the host as plain dicts."""
    found = collect([TABLES.get(name)], [scope or Scope()])[name]
    return [json.loads(r) for r in found]


def test_every_named_table_is_registered() -> None:
    assert set(TABLES) >= OSQUERY_NAMES


def test_os_version_matches_os_release() -> None:
    fields = os_release(Path("/etc/os-release").read_text())
    (row,) = rows("os_version")
    assert row["name"] == fields["NAME"]
    assert row["platform"] == fields["ID"]
    assert row["major"] == int(fields["VERSION_ID"].split(".")[0])
    assert row["codename"] == fields.get("VERSION_CODENAME", "")


def test_deb_packages_equal_dpkg_query() -> None:
    require(Path("/var/lib/dpkg/status").is_file(), "no dpkg database on this machine")
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    expected = {tuple(line.split("\t")) for line in out.splitlines()}
    assert {(r["name"], r["version"]) for r in rows("deb_packages")} == expected


def test_kernel_modules_match_proc_modules() -> None:
    try:
        lines = Path("/proc/modules").read_text().splitlines()
    except FileNotFoundError:
        lines = []  # a kernel built without module support: the table is empty too
    assert sorted(r["name"] for r in rows("kernel_modules")) == sorted(
        line.split()[0] for line in lines
    )


def test_a_port_opened_here_appears_with_its_process() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        mine = [r for r in rows("listening_ports") if r["port"] == port and r["protocol"] == 6]
    assert len(mine) == 1, mine
    assert mine[0]["pid"] == os.getpid()
    assert mine[0]["address"] == "127.0.0.1"
    assert mine[0]["process_name"] and mine[0]["container"] == ""


def test_shadow_metadata_never_carries_a_hash() -> None:
    shadow = Path("/etc/shadow").read_text()
    hashes = [f.split(":")[1] for f in shadow.splitlines() if len(f.split(":")[1]) > 2]
    encoded = json.dumps(rows("shadow") + rows("users"))
    assert not [h for h in hashes if h.lstrip("!") and h.lstrip("!") in encoded]


def test_shell_history_can_be_turned_off() -> None:
    assert rows("shell_history", Scope(shell_history=False)) == []


def test_full_collection_has_no_unknown_table() -> None:
    assert len(chosen_tables(full=False)) < len(chosen_tables())


@pytest.mark.podman
def test_container_port_and_users_appear_with_the_container_id(
    podman: Podman, busybox_image: str
) -> None:
    container = podman.run_detached(busybox_image, "nc", "-ll", "-p", "18765", "-e", "cat")
    try:
        port = poll_until(
            lambda: [r for r in rows("listening_ports") if r["port"] == 18765],
            30,
            "the container's port in listening_ports",
        )
        assert port[0]["container"] == container
        assert port[0]["process_name"] == "nc"
        scopes = [s for s in container_scopes() if s.container == container]
        assert len(scopes) == 1
        users = rows("users", scopes[0])
        assert {u["container"] for u in users} == {container}
        assert "root" in {u["username"] for u in users}
    finally:
        podman.remove(container)


@pytest.mark.podman
def test_a_containers_packages_equal_dpkg_query_inside_it(podman: Podman, corpus: Path) -> None:
    archive = require_file(corpus / "images" / "debian12-app.oci.tar", "corpus image")
    image = podman.load_image(archive, DEBIAN_IMAGE)
    container = podman.run_detached(image, "sleep", "300")
    try:
        out = podman.exec(container, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n")
        expected = {tuple(line.split("\t")) for line in out.decode().splitlines()}
        scope = poll_until(
            lambda: [s for s in container_scopes() if s.container == container],
            30,
            "the container's scope",
        )[0]
        packages = rows("deb_packages", scope)
        assert {(r["name"], r["version"]) for r in packages} == expected
        assert {r["container"] for r in packages} == {container}
        assert {r["image"] for r in packages} == {DEBIAN_IMAGE}
        (release,) = rows("os_version", scope)
        assert release["platform"] == "debian" and release["major"] == 12
    finally:
        podman.remove(container)
