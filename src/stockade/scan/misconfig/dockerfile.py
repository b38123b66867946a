"""A small Dockerfile reader: instructions with their line numbers and build stage."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Instruction:
    """One Dockerfile instruction (continuations joined)."""

    command: str  # upper case, e.g. RUN
    value: str  # the rest of the line, continuations joined with spaces
    line: int  # 1-based line where it starts
    end_line: int
    stage: int  # index of the FROM stage it belongs to

    def arguments(self) -> list[str]:
        """JSON-array form parsed, else split on whitespace."""
        text = self.value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: brackets nested too deep
                parsed = None
            if isinstance(parsed, list):
                return [str(p) for p in parsed]
        return text.split()


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        joined = " ".join(p for p in pending if p)
        pending = []
        command, _, value = joined.partition(" ")
        command = command.upper()
        if command == "FROM":
            stage += 1
        instructions.append(Instruction(command, value.strip(), start, number, max(stage, 0)))
    return instructions
