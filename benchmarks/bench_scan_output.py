"""Output writer figures: time to render a large scan result in each format."""

from __future__ import annotations

import statistics
import sys
import time

from stockade.model.inventory import Ecosystem, Finding, Package, ScanResult, Severity
from stockade.scan.output import FORMATS, write

PACKAGES = 1000
FINDINGS = 500
ROUNDS = 5


def _result() -> ScanResult:
    packages = [
        Package(
            name=f"pkg{n}",
            version=f"1.{n % 7}.{n % 13}",
            ecosystem=(Ecosystem.PYPI, Ecosystem.NPM, Ecosystem.DEBIAN)[n % 3],
            licenses=("MIT",),
            path=f"/layer/{n}",
        )
        for n in range(PACKAGES)
    ]
    findings = [
        Finding(
            kind="vulnerability",
            id=f"CVE-2024-{n // 2}",
            severity=Severity(n % 5),
            title="t",
            target=packages[n].name,
            installed_version=packages[n].version,
            fixed_version="9.9.9",
            references=(f"GHSA-aaaa-bbbb-{n:04d}",),
            cvss_score=float(n % 10),
        )
        for n in range(FINDINGS)
    ]
    return ScanResult(target="bench", packages=packages, findings=findings)


def main() -> int:
    """Print `name: value unit` lines."""
    result = _result()
    for fmt in FORMATS:
        times = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            size = len(write(result, fmt))
            times.append(time.perf_counter() - start)
        print(f"write_{fmt}_median: {statistics.median(times) * 1000:.0f} ms")
        print(f"write_{fmt}_size: {size / 1024:.0f} KiB")
    print(f"packages: {PACKAGES} packages")
    print(f"findings: {FINDINGS} findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
