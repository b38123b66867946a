"""Reading the configuration: defaults < file < environment < `-o key=value` < flags.

Each layer is a nested dict checked against the model on its own, so an unknown key is
reported with where it came from (the file, the variable, the `-o`). The merged dict is
then converted to `StockadeConfig` once; a value of the wrong type names its key and
the layer that set it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from stockade.config.keys import parse_key, set_key, unknown_key, unknown_keys
from stockade.config.model import StockadeConfig
from stockade.errors import UsageError
from stockade.yaml_marks import yaml_problem, yaml_where

DEFAULT_PATH = Path("/etc/stockade/stockade.yaml")
CONFIG_ENV = "STOCKADE_CONFIG"  # the file's path, when --config is not given
ENV_PREFIX = "STOCKADE_"
_ERROR_PATH = re.compile(r"`\$\.?([^`]*)`")


class ConfigError(UsageError):
    """The configuration (file, environment or `-o`) is malformed or names an unknown key."""


@dataclass(frozen=True)
class ConfigSources:
    """Where a command's configuration comes from, besides the defaults."""

    path: Path | None = None  # --config; None: $STOCKADE_CONFIG, else DEFAULT_PATH if present
    overrides: Sequence[str] = ()  # `-o key=value`, in order
    flags: Mapping[str, Any] = field(default_factory=dict)  # dotted key -> explicit flag value
    environ: Mapping[str, str] | None = None  # None: os.environ


def load_config(sources: ConfigSources) -> StockadeConfig:
    """The configuration the sources give; ConfigError (one line) when any is wrong."""
    environ = os.environ if sources.environ is None else sources.environ
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path, required = _file_path(sources.path, environ)
    if path is not None:
        _merge(merged, origin, _read_file(path, required), str(path))
    for where, key, value in _environment(environ):
        _set(merged, origin, key, value, where)
    for text in sources.overrides:
        key, value = _override(text)
        _set(merged, origin, key, value, f"-o {text}")
    for key, value in sources.flags.items():
        _set(merged, origin, key, value, f"the command line ({key})")
    try:
        return msgspec.convert(merged, StockadeConfig, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(_validation_message(e, origin)) from e


def _file_path(given: Path | None, environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read and whether it must exist (it must when named explicitly)."""
    if given is not None:
        return given, True
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]), True
    return (DEFAULT_PATH, False) if DEFAULT_PATH.exists() else (None, False)


def _read_file(path: Path, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        if not required:
            return {}
        raise ConfigError(f"config file {path}: no such file") from e
    except OSError as e:
        raise ConfigError(f"config file {path}: {e.strerror}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{yaml_where(str(path), e)}: malformed YAML: {yaml_problem(e)}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    missing = unknown_keys(StockadeConfig, data, [])
    if missing is not None:
        raise ConfigError(f"{path}: unknown key {missing}")
    return data


def _environment(environ: Mapping[str, str]) -> list[tuple[str, str, Any]]:
    """(where, dotted key, value) of each STOCKADE_* variable naming a key.

    `__` separates sections (STOCKADE_SERVER__PORT is server.port). A variable without
    `__` that names no key is another of Stockade's (STOCKADE_ENROLL_TOKEN) and is left
    alone; one with `__` must name a key.
    """
    found = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        rest = name.removeprefix(ENV_PREFIX)
        key = rest.lower().replace("__", ".")
        if unknown_key(StockadeConfig, key.split(".")) is None:
            found.append((f"environment {name}", key, _scalar(environ[name])))
        elif "__" in rest:
            raise ConfigError(f"environment {name}: unknown key {key}")
    return found


def _override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"-o {text}: expected key=value")
    return key.strip(), _scalar(value)


def _scalar(value: str) -> Any:
    """A list or mapping as YAML reads it (`[a, b]`), else the text itself.

    Scalars stay text: the conversion reads `8700` as an int, `true` as a bool and `null`
    as None where the key wants one, and keeps `0123` a string where it wants text.
    """
    try:
        parsed = yaml.safe_load(value) if value.strip() else value
    except yaml.YAMLError:
        return value
    return parsed if isinstance(parsed, list | dict) else value


def _set(merged: dict[str, Any], origin: dict[str, str], key: str, value: Any, where: str) -> None:
    try:
        parts = parse_key(key)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from e
    missing = unknown_key(StockadeConfig, [name for name, _ in parts])
    if missing is not None:
        raise ConfigError(f"{where}: unknown key {missing}")
    try:
        set_key(merged, parts, value)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from e
    origin[".".join(name for name, _ in parts)] = where


def _merge(into: dict[str, Any], origin: dict[str, str], data: dict[str, Any], where: str) -> None:
    """Merge a file's nested mapping into `into`, noting each leaf's origin."""

    def walk(target: dict[str, Any], source: dict[str, Any], prefix: str) -> None:
        for name, value in source.items():
            key = f"{prefix}{name}"
            if isinstance(value, dict) and isinstance(target.get(name), dict):
                walk(target[name], value, key + ".")
            else:
                target[name] = value
                origin[key] = where

    walk(into, data, "")


def _validation_message(error: msgspec.ValidationError, origin: dict[str, str]) -> str:
    """`<where>: <key>: <what is wrong>` from msgspec's message and the value's origin."""
    text = str(error)
    match = _ERROR_PATH.search(text)
    key = re.sub(r"\[\d+\]", "", match[1]) if match else ""
    what = text.split(" - at ")[0]
    where = next(
        (origin[k] for k in sorted(origin, key=len, reverse=True) if key.startswith(k)),
        "configuration",
    )
    return f"{where}: {key or 'configuration'}: {what}"
