"""Where the benchmarks find the reference corpus: $STOCKADE_CORPUS, else ../shared/corpus."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(
    os.environ.get("STOCKADE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
