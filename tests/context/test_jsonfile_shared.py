"""One parsed copy of podman's state files (JSON files, events log) that several runtimes follow."""

from __future__ import annotations

from pathlib import Path

from stockade.context.buildah import BuildahRuntime
from stockade.context.podman import JsonFile, PodmanRuntime


def test_podman_and_buildah_share_one_parsed_containers_json(tmp_path: Path) -> None:
    listing = tmp_path / "overlay-containers" / "containers.json"
    listing.parent.mkdir()
    listing.write_text('[{"id": "abc", "names": ["web"]}]')
    shared = JsonFile.shared(listing)
    first = PodmanRuntime(storage_root=tmp_path)._containers.load()
    again = BuildahRuntime(storage_root=tmp_path)._containers.load()
    assert first is again is shared.load()


def test_a_shared_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "images.json"
    path.write_text("[1]")
    assert JsonFile.shared(path).load() == [1]
    path.write_text("[1, 2]")
    assert JsonFile.shared(path).load() == [1, 2]
    path.unlink()
    assert JsonFile.shared(path).load() is None


def test_two_podman_runtimes_follow_one_events_log(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    log.write_text(
        '{"Type": "container", "ID": "abc", "Status": "start", "Attributes": {"a": "1"}}\n'
    )
    first = PodmanRuntime(storage_root=tmp_path, events_log=log)._events
    second = PodmanRuntime(storage_root=tmp_path, events_log=log)._events
    assert first is second
    first.refresh()
    second.refresh()
    assert second.labels == {"abc": {"a": "1"}}
