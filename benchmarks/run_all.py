"""Run every benchmarks/bench_*.py in turn and print their figures (used by `make bench`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The benchmarks import the repository's packages (benchmarks, tests.support) by name.
PYTHONPATH = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))


def main() -> int:
    """Run each benchmark script; a failing one is reported and the others still run."""
    failed: list[str] = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.stem}", flush=True)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(script)], check=False, env={**os.environ, "PYTHONPATH": PYTHONPATH}
        )
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
        if result.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
