"""What a starting sensor does with pinned links, and the upgrade overlap's repeat filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model import Event, Process
from stockade.sensor.bpf.pin_adopt import OverlapFilter
from stockade.sensor.bpf.pins import PinLayout, plan_links, unpin

ROOT = Path("/sys/fs/bpf/x")
LAYOUT = PinLayout(ROOT)


def _pinned(**objects: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    return {
        key: {name: LAYOUT.link_path(key, name) for name in names} for key, names in objects.items()
    }


@pytest.mark.parametrize(
    ("pinned", "wanted", "adopt", "load", "detach", "replaced"),
    [
        pytest.param({}, {"a", "b"}, set(), {"a", "b"}, set(), (), id="nothing-pinned"),
        pytest.param(
            _pinned(k1=("a", "b")), {"a", "b"}, {"a", "b"}, set(), set(), (), id="restart"
        ),
        pytest.param(
            _pinned(k1=("a", "b")), {"a", "c"}, {"a"}, {"c"}, {"b"}, (), id="rules-changed"
        ),
        pytest.param(
            _pinned(k0=("a", "b")), {"a"}, set(), {"a"}, {"a", "b"}, ("k0",), id="upgrade"
        ),
    ],
)
def test_plan_adopts_own_links_and_replaces_the_rest(
    pinned: dict[str, dict[str, Path]],
    wanted: set[str],
    adopt: set[str],
    load: set[str],
    detach: set[str],
    replaced: tuple[str, ...],
) -> None:
    plan = plan_links(pinned, "k1", wanted)
    assert plan.adopt == adopt
    assert plan.load == load
    assert {p.name for p in plan.detach} == detach
    assert plan.replaced_objects == replaced


def _exec(ts: int, pid: int = 7) -> Event:
    return Event(type="execve", ts=ts, proc=Process(pid=pid))


def test_overlap_filter_drops_repeats_inside_the_window_only() -> None:
    first, repeat, other = _exec(100), _exec(101), _exec(102, pid=8)
    late_twin = _exec(500)  # after the window: a new event, kept
    kept = OverlapFilter().drop_repeats([first, repeat, other, late_twin], (50, 200))
    assert kept == [first, other, late_twin]


def test_unpin_removes_links_then_maps(tmp_path: Path) -> None:
    root = tmp_path / "pins"
    layout = PinLayout(root)
    for path in (layout.map_path("events"), layout.link_path("k1", "on_exec")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert layout.has_pins()
    assert unpin(root) == 2
    assert not root.exists()
    assert unpin(root) == 0
