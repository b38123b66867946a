"""The `ResponseAction` interface, what actions run with, and their registry."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from stockade.model.actions import ActionResult, ActionStatus, ActionTarget
from stockade.registry import Registry
from stockade.respond.errors import RespondError, TargetError

if TYPE_CHECKING:
    from stockade.respond.execblock import ExecBlocker


@dataclass
class ActionContext:
    """What actions share on one host: a state dir, and the exec blocker once one runs."""

    state_dir: Path
    platform_url: str = ""  # isolate_host keeps this connection open
    host_netns: Path = Path("/proc/1/ns/net")  # the namespace isolate_host closes
    _blocker: ExecBlocker | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def quarantine_dir(self) -> Path:
        """Where quarantined files are kept (root only)."""
        return self.state_dir / "quarantine"

    def exec_blocker(self) -> ExecBlocker:
        """The host's one exec blocker, started on first use."""
        from stockade.respond.execblock import ExecBlocker

        with self._lock:
            if self._blocker is None:
                self._blocker = ExecBlocker()
            return self._blocker

    def close(self) -> None:
        """Stop what actions left running (the exec blocker allows everything again)."""
        with self._lock:
            if self._blocker is not None:
                self._blocker.close()
                self._blocker = None


class ResponseAction(ABC):
    """One thing the agent can do to a process, container or file."""

    name: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[tuple[str, ...]]  # ActionTarget fields that must be set

    @abstractmethod
    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Do it; RespondError (one line) when it cannot be done."""


RESPONSE_ACTIONS: Registry[ResponseAction] = Registry("response action")


def check_target(action: ResponseAction, target: ActionTarget) -> None:
    """TargetError naming what `action` needs that `target` lacks."""
    missing = [need for need in action.needs if not getattr(target, need)]
    if missing:
        raise TargetError(f"{action.name} needs a target {' and '.join(missing)}")


def done(detail: str, **data: str) -> ActionResult:
    """A successful result."""
    return ActionResult(status=ActionStatus.DONE, detail=detail, data=data)


def failed(error: str) -> ActionResult:
    """A failed result with a one-line error."""
    return ActionResult(status=ActionStatus.FAILED, error=" ".join(error.split()))


def perform(name: str, target: ActionTarget, context: ActionContext) -> ActionResult:
    """Run the action named `name` on `target`; never raises: errors become failed results."""
    try:
        action = RESPONSE_ACTIONS.get(name)
    except KeyError as e:
        return failed(str(e.args[0]))
    try:
        check_target(action, target)
        return action.run(target, context)
    except RespondError as e:
        return failed(str(e))
    except OSError as e:
        return failed(f"{name}: {e.strerror or e}")
