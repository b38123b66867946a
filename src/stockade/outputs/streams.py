"""The local outputs: standard output, a file, a program's standard input (Falco's three).

They write as alerts come, one line each, in Falco's JSON or text format; nothing is
queued on disk (a local stream is there, or the output cannot be opened at all).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

from stockade.model import Alert
from stockade.outputs.base import OUTPUTS, OutputContext, OutputError, OutputStats, require
from stockade.outputs.falco_format import line_formatter

log = logging.getLogger(__name__)


class StreamOutput:
    """Writes one line per alert to a binary stream it gets from `open_stream`."""

    def __init__(
        self,
        name: str,
        format_line: Callable[[Alert], bytes],
        open_stream: Callable[[], BinaryIO],
        keep_alive: bool = True,
    ) -> None:
        self.name = name
        self._format = format_line
        self._open = open_stream
        self._keep_alive = keep_alive
        self._stream: BinaryIO | None = open_stream() if keep_alive else None
        self._stats = OutputStats()
        self._lock = threading.Lock()

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Write the alerts, one line each, and flush."""
        data = b"".join(self._format(a) + b"\n" for a in alerts)
        with self._lock:
            try:
                stream = self._stream or self._open()
                try:
                    stream.write(data)
                    stream.flush()
                finally:
                    if not self._keep_alive:
                        stream.close()
            except (OSError, OutputError) as e:  # a full disk must not stop detection
                self._stats.dropped += len(alerts)
                log.error(
                    "%s output: %s: %d alerts not written so far", self.name, e, self._stats.dropped
                )
                return
            self._stats.sent += len(alerts)

    def stats(self) -> OutputStats:
        """Counts so far."""
        return OutputStats(**vars(self._stats))

    def close(self) -> None:
        """Flush and close (standard output stays open)."""
        with self._lock:
            if self._stream is not None and self._stream is not sys.stdout.buffer:
                self._stream.close()
            self._stream = None


class ProgramOutput:
    """Pipes one line per alert to a shell command; restarts it when it has exited."""

    def __init__(self, program: str, format_line: Callable[[Alert], bytes], keep_alive: bool):
        self.name = "program"
        self._program = program
        self._format = format_line
        self._keep_alive = keep_alive
        self._process: subprocess.Popen[bytes] | None = None
        self._stats = OutputStats()
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(self._program, shell=True, stdin=subprocess.PIPE)
        except OSError as e:
            raise OutputError(f"program_output.program {self._program!r}: {e}") from e

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            log.warning(
                "program output %r exited (%s): restarting it",
                self._program,
                self._process.returncode,
            )
            self._stats.retries += 1
            self._process = None
        if self._process is None:
            self._process = self._start()
        return self._process

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Write the alerts to the program (one run per alert unless `keep_alive`)."""
        with self._lock:
            if not self._keep_alive:
                for alert in alerts:
                    run = subprocess.run(
                        self._program, shell=True, input=self._format(alert) + b"\n", check=False
                    )
                    self._stats.sent += run.returncode == 0
                return
            data = b"".join(self._format(a) + b"\n" for a in alerts)
            for _attempt in range(2):  # a program that exited meanwhile gets one restart
                process = self._running()
                try:
                    assert process.stdin is not None
                    process.stdin.write(data)
                    process.stdin.flush()
                except BrokenPipeError:
                    process.wait()
                    continue
                self._stats.sent += len(alerts)
                return
            self._stats.dropped += len(alerts)
            log.error(
                "program output %r keeps exiting: %d alerts not written", self._program, len(alerts)
            )

    def stats(self) -> OutputStats:
        """Counts so far."""
        return OutputStats(**vars(self._stats))

    def close(self) -> None:
        """Close the program's input and wait for it to finish."""
        with self._lock:
            if self._process is not None and self._process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    self._process.stdin.close()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None


def stdout_output(context: OutputContext) -> StreamOutput | None:
    """Alerts on standard output when `stdout_output.enabled`."""
    if not context.settings.stdout_output.enabled:
        return None
    return StreamOutput("stdout", line_formatter(context.settings), lambda: sys.stdout.buffer)


def file_output(context: OutputContext) -> StreamOutput | None:
    """Alerts appended to `file_output.filename` when `file_output.enabled`."""
    settings = context.settings.file_output
    if not settings.enabled:
        return None
    filename = require(settings.filename, "file_output.filename")

    def open_file() -> BinaryIO:
        try:
            return open(filename, "ab")  # noqa: SIM115 - kept open across calls
        except OSError as e:
            raise OutputError(f"file_output.filename {filename}: {e.strerror}") from e

    return StreamOutput("file", line_formatter(context.settings), open_file, settings.keep_alive)


def program_output(context: OutputContext) -> ProgramOutput | None:
    """Alerts piped to `program_output.program` when `program_output.enabled`."""
    settings = context.settings.program_output
    if not settings.enabled:
        return None
    program = require(settings.program, "program_output.program")
    return ProgramOutput(program, line_formatter(context.settings), settings.keep_alive)


OUTPUTS.register("stdout", stdout_output)
OUTPUTS.register("file", file_output)
OUTPUTS.register("program", program_output)
