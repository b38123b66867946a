"""Vulnerable packages in a host's risk summary, from the scanner's vulnerability database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import msgspec

from stockade.agent.inventory_outbox import encode_diff
from stockade.host.packages import PythonPackageRow
from stockade.host.system import OsVersionRow
from stockade.model.host_inventory import INVENTORY_PATH, InventoryDiff, TableDiff
from stockade.scan.vulndb import import_location, open_db
from tests.support.ci import require
from tests.support.platform_runner import PlatformRunner


def _python(name: str, version: str) -> msgspec.Raw:
    row = PythonPackageRow(name=name, version=version, summary="", author="", license="",
                           path=f"/usr/lib/python3/dist-packages/{name}-{version}.dist-info",
                           directory="/usr/lib/python3/dist-packages")  # fmt: skip
    return msgspec.Raw(msgspec.json.encode(row))


def test_vulnerable_packages_are_counted_from_the_vulnerability_database(
    corpus: Path, tmp_path: Path
) -> None:
    advisories = corpus / "vulndb" / "osv-pypi" / "vulns" / "requests"
    require(advisories.is_dir(), f"test input missing: {advisories}")
    db_path = tmp_path / "vulndb.sqlite"
    db = open_db(db_path, create=True)
    import_location(db, str(advisories))
    db.close()
    runner = PlatformRunner(tmp_path / "platform")
    runner.config = dataclasses.replace(runner.config, vulndb=db_path)
    runner.start()
    try:
        agent = runner.enroll(tmp_path / "agent", hostname="risky", host_id="risky-host")
        os_row = OsVersionRow(name="Debian GNU/Linux", version="12", major=12, minor=0, patch=0,
                              build="", platform="debian", platform_like="", codename="bookworm",
                              arch="x86_64")  # fmt: skip
        diff = InventoryDiff(
            host_id=agent.host_id,
            collected_at=1,
            full=True,
            tables=[
                TableDiff(table="os_version", added=[msgspec.Raw(msgspec.json.encode(os_row))]),
                TableDiff(
                    table="python_packages",
                    added=[_python("requests", "2.19.0"), _python("requests-toolbelt", "1.0.0")],
                ),
            ],
        )
        answer = agent.client.post(
            INVENTORY_PATH, content=encode_diff(diff), headers={"content-encoding": "zstd"}
        )
        assert answer.status_code == 200, answer.text
        admin = runner.login()
        (host,) = [h for h in admin.get("/api/v1/hosts").json() if h["id"] == "risky-host"]
        assert host["risk"]["vulnerable_packages"] == 1
        detail = admin.get("/api/v1/hosts/risky-host").json()
        assert detail["risk"]["vulnerable_packages"] == 1
        admin.close()
    finally:
        runner.stop()


def test_without_a_vulnerability_database_the_count_is_null(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="plain", host_id="plain-host")
    packages = TableDiff(table="python_packages", added=[_python("requests", "2.19.0")])
    diff = InventoryDiff(host_id=agent.host_id, collected_at=1, full=True, tables=[packages])
    answer = agent.client.post(
        INVENTORY_PATH, content=encode_diff(diff), headers={"content-encoding": "zstd"}
    )
    assert answer.status_code == 200, answer.text
    (host,) = [h for h in admin.get("/api/v1/hosts").json() if h["id"] == "plain-host"]
    assert host["risk"]["vulnerable_packages"] is None
