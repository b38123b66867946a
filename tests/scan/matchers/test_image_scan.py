"""The scanner's own packages of the corpus image, matched: the same findings as computed apart."""

from __future__ import annotations

from pathlib import Path

from stockade.model.inventory import Ecosystem
from stockade.scan.options import ScanOptions
from stockade.scan.scanner import scan_image
from stockade.scan.vulndb import import_location, open_db
from tests.scan.matchers.references import IMAGE_PYTHON, expected_ids, expected_npm


def test_scan_with_database(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "vulndb.sqlite"
    db = open_db(path, create=True)
    for feed in ("osv-pypi", "nodejs-security-wg"):
        import_location(db, str(corpus / "vulndb" / feed))
    db.close()
    image = corpus / "images/debian12-app.oci.tar"
    result = scan_image(f"oci-archive:{image}", ScanOptions(cache_dir=None, db_path=path))
    vulns = [f for f in result.findings if f.kind == "vulnerability"]
    python = {p.name: p.version for p in result.packages if p.ecosystem is Ecosystem.PYPI}
    assert {k.lower(): v for k, v in python.items()} == {
        k.lower(): v for k, v in IMAGE_PYTHON.items()
    }
    want_python = {(n, i) for n, v in python.items() for i in expected_ids(corpus, n, v)}
    got_python = {(f.target, f.id) for f in vulns if f.path.endswith("METADATA")}
    assert got_python == want_python
    npm = [p for p in result.packages if p.ecosystem is Ecosystem.NPM]
    want_npm = {(name, version) for name, version, _ in expected_npm(corpus, npm)}
    got_npm = {(f.target, f.installed_version) for f in vulns if f.path.endswith("package.json")}
    assert got_npm == want_npm == {("lodash", "4.17.15")}
    assert all(f.layer.digest for f in vulns)  # each finding names the layer that brought it
