"""Vulnerable packages of a host's inventory: its package tables (and each container's)
matched against the scanner's vulnerability database, counted once per collection."""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from stockade.model.inventory import Ecosystem, Package
from stockade.platform.store.sqlite_inventory import InventoryStore
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import open_db
from stockade.scan.vulndb.formats import VulnDBError

PACKAGE_TABLES = ("deb_packages", "apk_packages", "rpm_packages", "python_packages", "npm_packages")
PAGE = 10_000
_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?")


def package_of(table: str, row: dict[str, Any]) -> Package | None:
    """The scanner's `Package` for one inventory row of a package table."""
    name, version = str(row.get("name", "")), str(row.get("version", ""))
    if not name or not version:
        return None
    if table == "deb_packages":
        if not str(row.get("status", "")).endswith(" installed"):
            return None
        match = _SOURCE.match(str(row.get("source", "")))
        source = (match.group(1), match.group(2) or version) if match else (name, version)
        return Package(name=name, version=version, ecosystem=Ecosystem.DEBIAN,
                       source_name=source[0], source_version=source[1])  # fmt: skip
    if table == "apk_packages":
        origin = str(row.get("origin") or name)
        return Package(name=name, version=version, ecosystem=Ecosystem.ALPINE,
                       source_name=origin, source_version=version)  # fmt: skip
    if table == "rpm_packages":
        epoch, release = row.get("epoch", ""), row.get("release", "")
        full = (f"{epoch}:" if epoch else "") + version + (f"-{release}" if release else "")
        return Package(name=name, version=full, ecosystem=Ecosystem.RPM)
    ecosystem = Ecosystem.PYPI if table == "python_packages" else Ecosystem.NPM
    return Package(name=name, version=version, ecosystem=ecosystem)


def _os_name(row: dict[str, Any]) -> str:
    return f"{row.get('platform', '')} {row.get('major', '')}.{row.get('minor', '')}"


class HostRisk:
    """Counts vulnerable packages per host; None when there is no vulnerability database."""

    def __init__(self, vulndb: Path | None) -> None:
        self.vulndb = vulndb
        self._cache: dict[tuple[str, int], int | None] = {}
        self._lock = threading.Lock()

    def _rows(self, store: InventoryStore, host_id: str, table: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = store.inventory_rows(host_id, table, offset, PAGE)
            rows += [json.loads(r) for r in page.rows]
            offset += PAGE
            if offset >= page.total:
                return rows

    def vulnerable_packages(
        self, store: InventoryStore, host_id: str, collected_at: int
    ) -> int | None:
        """Distinct (container, package, version) with at least one finding (blocking)."""
        if self.vulndb is None or not self.vulndb.expanduser().is_file():
            return None
        key = (host_id, collected_at)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        os_by_scope = {
            r["container"]: _os_name(r) for r in self._rows(store, host_id, "os_version")
        }
        by_scope: dict[str, list[Package]] = defaultdict(list)
        for table in PACKAGE_TABLES:
            for row in self._rows(store, host_id, table):
                package = package_of(table, row)
                if package is not None:
                    by_scope[str(row.get("container", ""))].append(package)
        try:
            db = open_db(self.vulndb)
        except VulnDBError:
            return None
        try:
            vulnerable = {
                (scope, f.target, f.installed_version)
                for scope, packages in by_scope.items()
                for f in match_packages(packages, os_by_scope.get(scope, ""), db)
            }
        finally:
            db.close()
        with self._lock:
            self._cache[key] = len(vulnerable)
        return len(vulnerable)
