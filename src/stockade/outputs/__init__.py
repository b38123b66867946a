"""Alert outputs: Falco's (stdout, file, program, http) and the SIEMs' (syslog CEF, Splunk
HEC, signed webhook), each network output behind a persistent on-disk queue."""

from __future__ import annotations

from stockade.outputs.base import OUTPUTS, Output, OutputError, OutputStats
from stockade.outputs.fanout import AlertOutputs, open_outputs
from stockade.outputs.settings import OutputSettings

__all__ = [
    "OUTPUTS",
    "AlertOutputs",
    "Output",
    "OutputError",
    "OutputSettings",
    "OutputStats",
    "open_outputs",
]
