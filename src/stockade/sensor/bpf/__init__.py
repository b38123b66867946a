"""The eBPF sensor: CO-RE C programs, their build step, a ctypes libbpf loader, a decoder."""

from __future__ import annotations

from stockade.sensor.bpf.source import DEFAULT_EVENT_TYPES, BpfSource

__all__ = ["DEFAULT_EVENT_TYPES", "BpfSource"]
