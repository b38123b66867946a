"""Container actions through its cgroup: kill every process at once, freeze, thaw."""

from __future__ import annotations

import time
from pathlib import Path

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.containers import LocatedContainer, locate
from stockade.respond.errors import RespondError

SETTLE_S = 5.0  # how long a freeze or kill may take to settle before it is reported failed


def _wait(check: Path, want: str, what: str) -> None:
    """Poll a cgroup file until it holds `want` (the kernel settles asynchronously)."""
    deadline = time.monotonic() + SETTLE_S
    delay = 0.0005
    while time.monotonic() < deadline:
        try:
            if want in check.read_text():
                return
        except FileNotFoundError:
            return  # the cgroup is gone: its processes are too
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    raise RespondError(f"{what} did not settle within {SETTLE_S:g} s ({check})")


def _v2(container: LocatedContainer, file: str) -> Path | None:
    if container.cgroup_v2 is not None and (container.cgroup_v2 / file).exists():
        return container.cgroup_v2 / file
    return None


class KillContainer(ResponseAction):
    """SIGKILL every process of a container at once (cgroup.kill); it exits 137."""

    name = "kill_container"
    summary = "kill every process of the container (cgroup v2 cgroup.kill)"
    needs = ("container_id",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Write 1 to cgroup.kill and wait until the cgroup is empty."""
        del context
        container = locate(target.container_id)
        kill = _v2(container, "cgroup.kill")
        if kill is None:
            raise RespondError(f"container {container.id[:12]}: no cgroup.kill (cgroup v2 needed)")
        kill.write_text("1")
        _wait(kill.with_name("cgroup.events"), "populated 0", "the kill")
        return done(f"killed container {container.id[:12]}", container_id=container.id)


class FreezeContainer(ResponseAction):
    """Stop every process of a container where it stands (cgroup freezer)."""

    name = "freeze_container"
    summary = "freeze every process of the container (cgroup.freeze, else the v1 freezer)"
    needs = ("container_id",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Freeze and wait until the kernel reports the cgroup frozen."""
        del context
        container = locate(target.container_id)
        return _set_frozen(container, frozen=True)


class ThawContainer(ResponseAction):
    """Let a frozen container's processes run again."""

    name = "thaw_container"
    summary = "thaw a frozen container"
    needs = ("container_id",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Thaw and wait until the kernel reports the cgroup running."""
        del context
        container = locate(target.container_id)
        return _set_frozen(container, frozen=False)


def _set_frozen(container: LocatedContainer, frozen: bool) -> ActionResult:
    verb = "froze" if frozen else "thawed"
    freeze = _v2(container, "cgroup.freeze")
    if freeze is not None:
        freeze.write_text("1" if frozen else "0")
        _wait(freeze.with_name("cgroup.events"), f"frozen {int(frozen)}", f"the {verb[:-1]}e")
        return done(f"{verb} container {container.id[:12]}", via="cgroup.freeze")
    if container.freezer_v1 is not None:
        state = container.freezer_v1 / "freezer.state"
        state.write_text("FROZEN" if frozen else "THAWED")
        _wait(state, "FROZEN" if frozen else "THAWED", f"the {verb[:-1]}e")
        return done(f"{verb} container {container.id[:12]}", via="freezer.state")
    raise RespondError(f"container {container.id[:12]}: no cgroup freezer found")


RESPONSE_ACTIONS.register(KillContainer.name, KillContainer())
RESPONSE_ACTIONS.register(FreezeContainer.name, FreezeContainer())
RESPONSE_ACTIONS.register(ThawContainer.name, ThawContainer())
