"""Built-in detector: an interactive shell started inside a container."""

from __future__ import annotations

import os

from stockade.detect.base import DETECTORS
from stockade.detect.falco_output import common_fields, container_suffix, make_alert
from stockade.model import Alert, Event, Priority

SHELLS = frozenset({"sh", "ash", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish"})
RULE = "Terminal shell in container"
TAGS = ["maturity_stable", "container", "shell", "mitre_execution", "T1059"]


def shell_name(argv: tuple[str, ...], name: str) -> str | None:
    """The shell a process runs (`busybox sh` counts), or None."""
    if name in SHELLS:
        return name
    base = os.path.basename(argv[0]) if argv else ""
    if base.lstrip("-") in SHELLS:  # login shells start with "-sh"
        return base.lstrip("-")
    if name == "busybox" or base == "busybox":
        applet = argv[1] if len(argv) > 1 else ""
        return applet if applet in SHELLS else None
    return None


def has_interactive_flag(args: tuple[str, ...]) -> bool:
    """True when the options (before the script or -c command) include `-i`."""
    for arg in args:
        if arg == "--" or not arg.startswith("-") or arg.startswith("--"):
            return False
        if "i" in arg[1:]:
            return True
        if "c" in arg[1:]:
            return False  # what follows is the command string
    return False


class InteractiveShellInContainer:
    """Fires on the exec of a shell in a container with a terminal or `-i`."""

    def inspect(self, event: Event) -> list[Alert]:
        """One alert when `event` starts an interactive shell inside a container."""
        if event.type not in ("execve", "execveat") or event.res != 0:
            return []
        if event.container.is_host or event.container.id == "unknown":
            return []
        proc = event.proc
        shell = shell_name(proc.argv, proc.name)
        if shell is None:
            return []
        args = proc.argv[2:] if proc.name == "busybox" else proc.argv[1:]
        if not proc.tty and not has_interactive_flag(args):
            return []
        fields = common_fields(event)
        message = (
            "A shell was spawned in a container with an attached terminal or -i |"
            f" evt_type={event.type} user={proc.user or '<NA>'} user_uid={proc.uid}"
            f" user_loginuid={proc.loginuid} process={proc.name} proc_exepath={proc.exepath}"
            f" parent={fields['proc.pname'] or '<NA>'} command={proc.cmdline}"
            f" terminal={proc.tty}" + container_suffix(event)
        )
        return [make_alert(event, RULE, Priority.NOTICE, message, fields, TAGS)]


DETECTORS.register("interactive_shell_in_container", InteractiveShellInContainer)
