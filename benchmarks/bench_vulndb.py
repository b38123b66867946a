"""Vulnerability database figures: import time per corpus feed and matching throughput."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import CORPUS
from stockade.model.inventory import Ecosystem, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import import_location, open_db

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ("osv-pypi", "golang-vulndb", "nodejs-security-wg")
PYTHON = [
    ("requests", "2.19.0"),
    ("urllib3", "1.24.1"),
    ("Jinja2", "2.10"),
    ("MarkupSafe", "1.1.1"),
    ("idna", "2.7"),
    ("chardet", "3.0.4"),
    ("certifi", "2018.4.16"),
    ("PyYAML", "5.3"),
]
ROUNDS = 3


def main() -> int:
    """Print `name: value unit` lines."""
    if not (CORPUS / "vulndb").is_dir():
        print(f"skipped: corpus not found at {CORPUS}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for feed in FEEDS:
            times = []
            for n in range(ROUNDS):
                db = open_db(Path(tmp) / f"{feed}-{n}.sqlite", create=True)
                start = time.perf_counter()
                report = import_location(db, str(CORPUS / "vulndb" / feed))
                times.append(time.perf_counter() - start)
                db.close()
            median = statistics.median(times)
            print(f"import_{feed.replace('-', '_')}_median: {median:.2f} s")
            print(f"import_{feed.replace('-', '_')}_rate: {report.files / median:.0f} files/s")
        db = open_db(Path(tmp) / "osv-pypi-0.sqlite")
        packages = [Package(name=n, version=v, ecosystem=Ecosystem.PYPI) for n, v in PYTHON]
        times = []
        for _ in range(20):
            start = time.perf_counter()
            findings = match_packages(packages, "debian 12", db)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"match_8_python_packages_median: {median * 1000:.1f} ms")
        print(f"match_rate: {len(packages) / median:.0f} packages/s")
        print(f"match_findings: {len(findings)} findings")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
