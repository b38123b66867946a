"""The platform builds its store and bus from its configuration through STORES and BUSES."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.platform import Platform, PlatformConfig, PlatformConfigError
from stockade.platform.bus import BUSES
from stockade.platform.bus.base import BatchHandler
from stockade.platform.bus.inprocess import InProcessBus
from stockade.platform.store import STORES, Store
from stockade.platform.store.sqlite import SqliteStore

opened_stores: list[str] = []
subscribed: list[str] = []


def _recording_store(location: str) -> Store:
    opened_stores.append(location)
    return SqliteStore(location)


class RecordingBus(InProcessBus):
    """The in-process bus, noting who subscribes."""

    def subscribe(self, subject: str, handler: BatchHandler) -> None:
        """Note the subject, then subscribe."""
        subscribed.append(subject)
        super().subscribe(subject, handler)


def _recording_bus(location: str) -> RecordingBus:
    subscribed.append(f"opened at {location!r}")
    return RecordingBus()


STORES.register("test-recording", _recording_store)
BUSES.register("test-recording", _recording_bus)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("store", "unknown store 'nosuch' (known: postgresql, sqlite"),
        ("bus", "unknown bus 'nosuch' (known: inprocess"),
    ],
    ids=["store", "bus"],
)
def test_an_unknown_id_is_one_line_naming_the_known_ones(
    tmp_path: Path, kind: str, expected: str
) -> None:
    data_dir = tmp_path / "d"
    config = (
        PlatformConfig(data_dir=data_dir, store="nosuch")
        if kind == "store"
        else PlatformConfig(data_dir=data_dir, bus="nosuch")
    )
    with pytest.raises(PlatformConfigError) as caught:
        Platform.open(config)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(expected)
    assert message.endswith(f"choose one with --{kind}")
    assert not data_dir.exists()  # refused before anything is created


def test_cli_server_with_an_unknown_store_exits_2_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["server", "--data-dir", str(tmp_path), "--store", "nosuch"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unknown store 'nosuch' (known: postgresql, sqlite" in lines[0], result.stderr


def test_the_configured_store_and_bus_are_the_ones_used(tmp_path: Path) -> None:
    opened_stores.clear()
    subscribed.clear()
    config = PlatformConfig(data_dir=tmp_path / "d", store="test-recording", bus="test-recording")
    Platform.open(config).close()
    assert opened_stores == [str(tmp_path / "d" / "stockade.db")]
    # the store worker listens, then the incident grouping, then the fleet correlations
    assert subscribed == ["opened at ''", *["stockade.batches"] * 3]


def test_a_store_location_replaces_the_data_dir_default(tmp_path: Path) -> None:
    opened_stores.clear()
    elsewhere = tmp_path / "elsewhere.db"
    config = PlatformConfig(
        data_dir=tmp_path / "d", store="test-recording", store_location=str(elsewhere)
    )
    Platform.open(config).close()
    assert opened_stores == [str(elsewhere)] and elsewhere.is_file()
