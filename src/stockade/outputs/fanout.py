"""Every enabled output behind one `emit`: what `watch`, the agent and the platform hold."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from stockade.model import Alert, Priority
from stockade.outputs.base import OUTPUTS, Output, OutputContext, OutputError, OutputStats
from stockade.outputs.settings import OutputSettings

log = logging.getLogger(__name__)


class AlertOutputs:
    """The enabled outputs; each alert at or above the `priority` setting goes to all."""

    def __init__(self, outputs: Sequence[Output], least_severe: Priority) -> None:
        self.outputs = tuple(outputs)
        self._least_severe = least_severe

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Hand the alerts severe enough to every output (none blocks on a receiver)."""
        if not self.outputs or not alerts:
            return
        chosen = [a for a in alerts if _severity(a) <= self._least_severe]
        for output in self.outputs:
            output.emit(chosen)

    def emit_one(self, alert: Alert) -> None:
        """Hand one alert to the outputs (alerts the platform raises itself, e.g. hunts')."""
        self.emit([alert])

    def stats(self) -> dict[str, OutputStats]:
        """Each output's counts, by its name."""
        return {o.name: o.stats() for o in self.outputs}

    def close(self) -> None:
        """Close every output (network outputs first drain their queues for a while)."""
        for output in self.outputs:
            try:
                output.close()
            except Exception:  # one output failing to close must not keep the others open
                log.exception("output %s did not close cleanly", output.name)


def _severity(alert: Alert) -> Priority:
    try:
        return Priority.parse(alert.priority)
    except ValueError:
        return Priority.EMERGENCY  # an unknown priority is never filtered out


def open_outputs(settings: OutputSettings, state_dir: Path) -> AlertOutputs:
    """The outputs `settings` enable (OutputError names the setting that is wrong).

    Network outputs queue in `outputs_queue.directory`, else in outputs/ of `state_dir`.
    """
    try:
        least_severe = Priority.parse(settings.priority)
    except ValueError as e:
        raise OutputError(f"priority: {e}") from e
    directory = settings.outputs_queue.directory
    context = OutputContext(settings, Path(directory) if directory else state_dir / "outputs")
    opened: list[Output] = []
    try:
        for key in OUTPUTS:
            output = OUTPUTS.get(key)(context)
            if output is not None:
                opened.append(output)
    except BaseException:
        for output in opened:
            with contextlib.suppress(Exception):
                output.close()
        raise
    return AlertOutputs(opened, least_severe)
