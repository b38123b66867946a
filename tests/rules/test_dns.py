"""fd.*.name: names of socket addresses from the names the rules watch (Falco's DNS manager)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.config import ConfigError, ConfigSources, load_config
from stockade.model import Event, FdInfo, Process
from stockade.rules import load_rules
from stockade.rules.dns import DnsNames, hosts_resolver
from tests.support.fields import field_value

TABLE = {"api.example": frozenset({"10.0.0.5", "fd00::5"}), "db.example": frozenset({"10.0.0.6"})}


def _connect(dip: str, *, server: bool = False) -> Event:
    fd = FdInfo(num=3, type="ipv4", l4proto="tcp", sip="127.0.0.1", sport=40000, dip=dip,
                dport=443, is_server=server)  # fmt: skip
    return Event(type="connect", ts=1, proc=Process(pid=9, name="curl"), fd=fd)


def test_watched_names_resolve_and_refresh() -> None:
    table = dict(TABLE)
    now = [0.0]
    names = DnsNames(lambda n: table.get(n, frozenset()), refresh_s=30, clock=lambda: now[0])
    names.watch(["api.example", "db.example", "nowhere.example"])
    assert names.name_of("10.0.0.5") == "api.example"
    assert names.name_of("::ffff:10.0.0.6") == "db.example"  # an IPv4-mapped address
    assert names.name_of("fd00::5") == "api.example"
    assert names.name_of("10.0.0.7") is None  # no reverse lookups: unwatched, unnamed
    assert names.matches(("db.example", "api.example"), "10.0.0.5")
    assert not names.matches(("nowhere.example",), "10.0.0.5")
    table["api.example"] = frozenset({"10.0.0.9"})
    names.refresh()  # what the background thread runs once the answers are stale
    assert names.name_of("10.0.0.9") == "api.example" and names.name_of("10.0.0.5") is None


def test_hosts_resolver_reads_the_hosts_file(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n10.1.2.3  Build.Local build  # ci\n::1 localhost6\n")
    resolve = hosts_resolver(hosts)
    assert resolve("build.local") == frozenset({"10.1.2.3"})
    assert resolve("localhost6") == frozenset({"::1"})
    assert resolve("other") == frozenset()
    assert hosts_resolver(tmp_path / "missing")("build") == frozenset()


RULES = """
- rule: to localhost by name
  desc: the server's address is one the name resolves to
  condition: evt.type = connect and fd.sip.name = localhost
  output: "to %fd.sip.name (%fd.sip) local %fd.lip.name remote %fd.rip.name client %fd.cip.name"
  priority: NOTICE
- rule: not to the cluster API
  desc: Falco's own rules name hosts that do not resolve here
  condition: evt.type = connect and fd.sip.name in (kubernetes.default.svc.cluster.local)
  output: "%fd.sip.name"
  priority: NOTICE
"""


def test_rules_compare_names_by_resolution() -> None:
    # localhost comes from this machine's /etc/hosts: nothing is sent on the network
    rules = load_rules([], sources=[("r.yaml", RULES)])
    fired = rules.evaluate(_connect("127.0.0.1"))
    assert [a.rule for a in fired] == ["to localhost by name"]
    assert "to localhost (127.0.0.1) local localhost remote localhost client localhost" in (
        fired[0].output
    )
    assert rules.evaluate(_connect("127.0.0.2")) == []  # the benign twin: another address
    accepted = _connect("10.9.9.9", server=True)  # the local side serves: lip is the server's
    assert field_value(accepted, "fd.lip.name") is None
    assert field_value(accepted, "fd.cip.name") == "localhost"
    assert field_value(accepted, "fd.rip.name") == "localhost"


def test_the_resolver_is_chosen_by_configuration(tmp_path: Path) -> None:
    path = tmp_path / "stockade.yaml"
    path.write_text("dns_resolver: system\n")
    assert load_config(ConfigSources(path=path, environ={})).dns_resolver == "system"
    assert load_config(ConfigSources(environ={})).dns_resolver == "hosts"  # nothing sent
    path.write_text("dns_resolver: dns\n")
    with pytest.raises(ConfigError, match="dns_resolver"):
        load_config(ConfigSources(path=path, environ={}))
    names = DnsNames()
    names.use("system")  # localhost: answered from the hosts file, nothing on the network
    names.watch(["localhost"])
    assert names.name_of("127.0.0.1") == "localhost"
