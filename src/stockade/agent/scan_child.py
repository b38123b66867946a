"""The agent's image scan subprocess: `python -m stockade.agent.scan_child SOURCE ...`.

It prints the scan in the agent's upload format (`model.wire.encode_scan`), not one of
the user's report formats, so reports can change for people without breaking agents.
A failure is one line on stderr and exit status 2 (1 with a traceback for a bug). An
image whose layer content does not match its digest (the runtime's check or the scanner's
own, `DigestMismatchError`) exits with `INTEGRITY_EXIT` instead and prints an
`IntegrityFailure` (JSON) on stdout, so the agent tells it apart without reading text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

INTEGRITY_EXIT = 3


class IntegrityFailure(msgspec.Struct, frozen=True):
    """What the child prints when the image's layer content failed its digest check."""

    message: str
    file: str = ""  # the file whose content failed, when the check named it


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The child's command line (the agent builds it: see image_scan_runner.scan_command)."""
    parser = argparse.ArgumentParser(prog="stockade-scan-child")
    parser.add_argument("source", help="what to scan, e.g. podman:ID or container:ID")
    parser.add_argument("--scanners", default="pkg,secret,misconfig")
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument(
        "--executables-to", type=Path, default=None, help="also store executables' sha256 here"
    )
    return parser.parse_args(argv)


def run(argv: list[str]) -> bytes:
    """Scan as `argv` says; the result in the upload format. StockadeError on bad input."""
    from stockade.errors import UsageError
    from stockade.model.wire import encode_scan
    from stockade.scan.options import Scanner, ScanOptions
    from stockade.scan.scanner import scan_image, scan_image_executables

    args = parse_args(argv)
    try:
        scanners = frozenset(Scanner(s) for s in args.scanners.split(",") if s)
    except ValueError as e:
        raise UsageError(f"--scanners: {e}") from e
    options = ScanOptions(scanners=scanners, cache_dir=args.cache_dir, db_path=args.db)
    if args.executables_to is None:
        return encode_scan(scan_image(args.source, options))
    from stockade.profiles.scanned_files import write_executables

    result, executables = scan_image_executables(args.source, options)
    if executables:
        try:
            write_executables(args.executables_to, executables)
        except OSError as e:
            raise UsageError(f"--executables-to {args.executables_to}: {e}") from e
    return encode_scan(result)


def main(argv: list[str] | None = None) -> int:
    """Run the scan and write it to stdout; returns the exit status."""
    from stockade.errors import StockadeError
    from stockade.scan.errors import DigestMismatchError

    try:
        data = run(sys.argv[1:] if argv is None else argv)
    except DigestMismatchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.stdout.buffer.write(msgspec.json.encode(IntegrityFailure(str(e), e.file)))
        sys.stdout.flush()
        return INTEGRITY_EXIT
    except StockadeError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
