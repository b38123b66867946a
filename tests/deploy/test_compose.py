"""deploy/compose.yaml: valid by the Compose Specification, the fleet's shape, real commands."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from stockade.config import ConfigSources, load_config
from stockade.platform.bus.base import BUSES
from stockade.platform.store.base import STORES
from tests.support.cli_options import NATS_PENDING, WORKER_PENDING, unknown_options
from tests.support.postgres import PRODUCTION_SETTINGS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FLEET = {"nats", "postgres", "server-1", "server-2", "worker-1", "worker-2", "agent"}


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def test_compose_file_follows_the_compose_specification() -> None:
    # check-jsonschema ships the specification's schema (compose-spec/compose-spec)
    vendored = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(vendored.read_text())
    jsonschema.validate(_compose(), schema)


def test_compose_runs_the_fleet() -> None:
    services = _services()
    assert set(services) == FLEET
    assert services["agent"]["privileged"] is True and services["agent"]["pid"] == "host"


@pytest.mark.parametrize("name", ["server-1", "server-2", "worker-1", "worker-2", "agent"])
def test_stockade_services_run_the_images_the_build_makes(name: str) -> None:
    image = _services()[name]["image"]
    built = "agent" if name == "agent" else "platform"
    assert image == f"localhost/stockade-{built}:latest"
    # what the script prints for each image it made (tests/deploy/test_images.py runs it)
    assert f'echo "localhost/stockade-{built}:$tag"' in (DEPLOY / "images" / "build.sh").read_text()


@pytest.mark.parametrize(
    "name",
    [
        "server-1",
        "server-2",
        pytest.param("worker-1", marks=WORKER_PENDING),
        pytest.param("worker-2", marks=WORKER_PENDING),
        "agent",
    ],
)
def test_stockade_services_run_real_commands_with_real_settings(name: str) -> None:
    service = _services()[name]
    subcommand, *args = service["command"]
    assert unknown_options((subcommand,), args) == []
    environ = {k: str(v) for k, v in service.get("environment", {}).items()}
    load_config(ConfigSources(path=None, environ=environ))  # ConfigError if a key is unknown


def test_the_fleet_keeps_its_state_in_a_registered_store() -> None:
    for name in ("server-1", "server-2", "worker-1", "worker-2"):
        assert _services()[name]["environment"]["STOCKADE_SERVER__STORE"] in STORES


@NATS_PENDING
def test_the_fleet_uses_a_registered_bus() -> None:
    for name in ("server-1", "server-2", "worker-1", "worker-2"):
        assert _services()[name]["environment"]["STOCKADE_SERVER__BUS"] in BUSES


def test_only_the_servers_hold_the_ca_key() -> None:
    holders = {
        name
        for name, service in _services().items()
        if any(str(v).startswith("pki:") for v in service.get("volumes", []))
    }
    assert holders == {"server-1", "server-2"}


def test_postgres_runs_with_the_production_settings() -> None:
    command = _services()["postgres"]["command"]
    assert command[0] == "postgres"
    assert tuple(command[2::2]) == PRODUCTION_SETTINGS and set(command[1::2]) == {"-c"}
