"""Killing one process through a pidfd, so a reused pid is never hit by mistake."""

from __future__ import annotations

import os
import signal

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.errors import TargetError


class KillProcess(ResponseAction):
    """SIGKILL one process (host pid) through a pidfd."""

    name = "kill_process"
    summary = "kill one process (SIGKILL through a pidfd)"
    needs = ("pid",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Open a pidfd on the pid and send SIGKILL through it."""
        del context
        if target.pid <= 1 or target.pid == os.getpid():
            raise TargetError(f"refusing to kill process {target.pid} (init or the agent itself)")
        try:
            fd = os.pidfd_open(target.pid)
        except ProcessLookupError:
            raise TargetError(f"no process {target.pid} on this host") from None
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        finally:
            os.close(fd)
        return done(f"killed process {target.pid}", pid=str(target.pid))


RESPONSE_ACTIONS.register(KillProcess.name, KillProcess())
