"""Licences: free-form Debian copyright texts classified, names and classifiers as SPDX ids,
Java licences from the embedded POM."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.copyright_text import free_form_licenses
from stockade.scan.analyzers.dpkg_copyright import DpkgCopyrightAnalyzer
from stockade.scan.analyzers.jar_archive import archive_packages, pom_licenses
from stockade.scan.files import FileInfo
from stockade.scan.licenses import from_classifier, spdx_or_name
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs
from tests.support.ci import require, require_file

MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy of this"
BSD = "Redistribution and use in source and binary forms, with or without modification"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("On Debian systems see /usr/share/common-licenses/Apache-2.0.", ["Apache-2.0"]),
        (
            "This program is free software; you can redistribute it under the terms of the "
            "GNU General Public License as published by the Free Software Foundation; either "
            "version 2 of the License, or (at your option) any later version.",
            ["GPL-2.0-or-later"],
        ),
        (
            "licensed under the GNU Lesser General Public License version 2.1 only",
            ["LGPL-2.1-only"],
        ),
        (f"{MIT} software", ["MIT"]),
        (f"{BSD} ... Neither the name of the project nor ...", ["BSD-3-Clause"]),
        (f"{BSD} ... provided that ...", ["BSD-2-Clause"]),
        ("Use it under the same terms as Perl itself.", ["Artistic-1.0-Perl", "GPL-1.0-or-later"]),
        ("GNU General Public License, version 1.3 of the GFDL", []),  # no GPL 1.3 exists
        ("Copyright 2020 Somebody. All rights reserved.", []),
    ],
    ids=["common-licenses", "gpl-or-later", "lgpl-only", "mit", "bsd-3", "bsd-2", "perl",
         "impossible-version", "nothing"],
)  # fmt: skip
def test_free_form_texts(text: str, expected: list[str]) -> None:
    assert free_form_licenses(text) == expected


def test_dep5_still_comes_first() -> None:
    content = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
    content += b"Files: *\nLicense: GPL-2+\n"
    info = FileInfo(path="usr/share/doc/tool/copyright", size=len(content))
    analysis = DpkgCopyrightAnalyzer(AnalyzerOptions()).analyze(info, content)
    assert analysis is not None and analysis.licenses == {"tool": ["GPL-2.0-or-later"]}


def test_debian_packages_of_this_machine_are_mostly_covered() -> None:
    require_file(Path("/var/lib/dpkg/status"), "a Debian system")
    listed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\\n"], capture_output=True, text=True, check=True
    ).stdout.split()
    analyzer = DpkgCopyrightAnalyzer(AnalyzerOptions())
    covered = 0
    for package in listed:
        path = Path("/usr/share/doc") / package / "copyright"
        if not path.is_file():
            continue
        content = path.read_bytes()
        info = FileInfo(path=f"usr/share/doc/{package}/copyright", size=len(content))
        analysis = analyzer.analyze(info, content)
        covered += bool(analysis and analysis.licenses.get(package))
    require(len(listed) > 50, "a Debian system with packages")
    assert covered / len(listed) >= 0.84  # Syft's coverage on a Debian host


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MIT License", "MIT"),
        ("Apache 2.0", "Apache-2.0"),
        ("The Apache Software License, Version 2.0", "Apache-2.0"),
        ("new BSD License", "BSD-3-Clause"),
        ("BSD", "BSD"),  # which BSD is unknown: kept as written
    ],
)
def test_names_to_spdx(name: str, expected: str) -> None:
    assert spdx_or_name(name) == expected


def test_classifiers_to_spdx() -> None:
    assert from_classifier("License :: OSI Approved :: MIT License") == "MIT"
    assert (
        from_classifier(
            "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"
        )
        == "GPL-2.0-or-later"
    )  # noqa: E501
    assert from_classifier("License :: OSI Approved") is None
    assert from_classifier("Programming Language :: Python") is None


def test_java_licences_from_the_embedded_pom() -> None:
    pom = (
        "<project><licenses><license><name>The Apache Software License, Version 2.0</name>"
        "<url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license></licenses></project>"
    )
    assert pom_licenses(pom) == ("Apache-2.0",)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        base = "META-INF/maven/com.example/lib/"
        archive.writestr(
            base + "pom.properties", "groupId=com.example\nartifactId=lib\nversion=1.0\n"
        )
        archive.writestr(base + "pom.xml", pom)
    [package] = archive_packages(buffer.getvalue(), "lib-1.0.jar")
    assert package.licenses == ("Apache-2.0",)


def _status_entry(name: str, source: str) -> str:
    return (
        f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n"
        f"Source: {source} (12.2.0-14)\nVersion: 12.2.0-14\n\n"
    )


def test_a_doc_directory_linked_to_a_siblings_gets_its_licences(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        _status_entry("gcc-12-base", "gcc-12")
        + _status_entry("libgcc-s1", "gcc-12")
        + _status_entry("zlib1g", "zlib")
    )
    docs = tmp_path / "usr/share/doc"
    (docs / "gcc-12-base").mkdir(parents=True)
    (docs / "gcc-12-base/copyright").write_text(
        "This program is free software; you can redistribute it under the terms of the GNU "
        "General Public License as published by the Free Software Foundation; either "
        "version 3 of the License, or (at your option) any later version.\n"
    )
    (docs / "libgcc-s1").symlink_to("gcc-12-base")  # Policy 12.5: same source package
    result = scan_fs(tmp_path, ScanOptions(scanners=frozenset({Scanner.PKG}), cache_dir=None))
    licences = {p.name: p.licenses for p in result.packages}
    assert licences == {
        "gcc-12-base": ("GPL-3.0-or-later",),
        "libgcc-s1": ("GPL-3.0-or-later",),
        "zlib1g": (),  # another source's copyright is never borrowed
    }
