"""Python metadata whose headers hold non-ASCII bytes (an author's name in UTF-8) is read,
not a crash: `email` hands such headers back as Header objects."""

from __future__ import annotations

from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.python_pkg import PythonPackageAnalyzer
from stockade.scan.files import FileInfo


def test_non_ascii_author_and_licence_are_read() -> None:
    content = (
        "Metadata-Version: 2.1\nName: café\nVersion: 1.0\nAuthor: Jürgen Müller\n"
        "Author-email: jm@example.org\nLicense: Lizenz für alle\n\n"
    ).encode()
    info = FileInfo(path="usr/lib/python3/dist-packages/cafe-1.0.dist-info/METADATA", size=99)
    analysis = PythonPackageAnalyzer(AnalyzerOptions()).analyze(info, content)
    assert analysis is not None
    (package,) = analysis.packages
    assert package.version == "1.0"
    assert "jm@example.org" in package.supplier
