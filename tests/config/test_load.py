"""The configuration: defaults < file < environment < -o < flags, and one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.agent.aggregate import DEFAULT_WINDOW_S
from stockade.config import ConfigError, ConfigSources, StockadeConfig, load_config

FILE = """
priority: notice
json_output: false
server:
  port: 9000
  host: 0.0.0.0
  events_days: 3
agent:
  rules: [/etc/a.yaml]
syslog_output:
  enabled: true
  host: siem.example
"""


def _file(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "stockade.yaml"
    path.write_text(text)
    return path


def test_without_a_file_the_defaults_are_the_flags_defaults() -> None:
    config = load_config(ConfigSources(environ={}))
    assert config == StockadeConfig()
    assert (config.server.port, config.server.host, config.server.events_days) == (
        8700,
        "127.0.0.1",
        7,
    )
    assert config.agent.alert_window == config.watch.alert_window == DEFAULT_WINDOW_S


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    sources = ConfigSources(
        path=_file(tmp_path),
        environ={"STOCKADE_SERVER__PORT": "9100", "STOCKADE_SERVER__HOST": "10.0.0.1",
                 "STOCKADE_PRIORITY": "error"},
        overrides=["server.port=9200", "agent.rules[]=/etc/b.yaml"],
        flags={"server.port": 9300},
    )  # fmt: skip
    config = load_config(sources)
    assert config.server.port == 9300  # flag > -o > environment > file
    assert config.server.host == "10.0.0.1"  # environment > file
    assert config.priority == "error"
    assert config.server.events_days == 3  # only in the file
    assert config.json_output is False
    assert config.agent.rules == ["/etc/a.yaml", "/etc/b.yaml"]  # -o appended to the file's list
    assert config.syslog_output.host == "siem.example"
    assert config.server.store == "sqlite"  # in no layer: the default


@pytest.mark.parametrize(
    ("override", "read", "value"),
    [
        ("server.agent_port=8800", lambda c: c.server.agent_port, 8800),
        ("server.agent_port=null", lambda c: c.server.agent_port, None),
        ("agent.sources=[ebpf, audit+proc]", lambda c: c.agent.sources, ["ebpf", "audit+proc"]),
        ("agent.scan_images=false", lambda c: c.agent.scan_images, False),
        ("agent.inventory=false", lambda c: c.agent.inventory, False),
        ("webhook_output.headers.X-Team=42", lambda c: c.webhook_output.headers, {"X-Team": "42"}),
        ("splunk_hec_output.token=0123", lambda c: c.splunk_hec_output.token, "0123"),
    ],
    ids=["int", "null", "list", "bool", "inventory-off", "mapping", "digits-as-text"],
)
def test_overrides_are_typed_by_the_key(
    override: str, read: Callable[[StockadeConfig], object], value: object
) -> None:
    assert read(load_config(ConfigSources(overrides=[override], environ={}))) == value


def test_other_stockade_variables_are_not_configuration() -> None:
    environ = {"STOCKADE_ENROLL_TOKEN": "t", "STOCKADE_CORPUS": "/x", "STOCKADE_DATA_DIR": "/d"}
    assert load_config(ConfigSources(environ=environ)).data_dir == "/d"


def test_the_config_variable_names_the_file(tmp_path: Path) -> None:
    environ = {"STOCKADE_CONFIG": str(_file(tmp_path))}
    assert load_config(ConfigSources(environ=environ)).server.port == 9000


@pytest.mark.parametrize(
    ("text", "sources", "message"),
    [
        ("server:\n  prot: 1\n", {}, "{file}: unknown key server.prot"),
        ("outputs:\n  - x\n", {}, "{file}: unknown key outputs"),
        ("server:\n  port: [\n", {}, "{file}:3:1: malformed YAML: expected the node content"),
        ("- a\n", {}, "{file}: the configuration must be a mapping of keys to values"),
        ("server:\n  port: high\n", {}, "{file}: server.port: Expected `int`, got `str`"),
        ("", {"overrides": ["server.port=0"]}, "-o server.port=0: server.port: Expected `int`"),
        ("", {"overrides": ["sever.port=1"]}, "-o sever.port=1: unknown key sever"),
        ("", {"overrides": ["port"]}, "-o port: expected key=value"),
        ("", {"environ": {"STOCKADE_SERVER__PROT": "1"}},
         "environment STOCKADE_SERVER__PROT: unknown key server.prot"),
    ],
    ids=["unknown-key", "unknown-section", "yaml", "not-mapping", "type", "range", "-o-key",
         "-o-syntax", "env-key"],
)  # fmt: skip
def test_bad_configuration_is_one_line_naming_where(
    tmp_path: Path, text: str, sources: dict[str, object], message: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(ConfigSources(path=path, **{"environ": {}, **sources}))  # type: ignore[arg-type]
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(message.format(file=path))


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(ConfigError, match=f"config file {missing}: no such file"):
        load_config(ConfigSources(path=missing, environ={}))
