"""Each analyzer on small real-format files: what it wants and what it finds."""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package
from stockade.registry import DuplicateRegistrationError
from stockade.scan.analyzers import ANALYZERS, Analyzer, AnalyzerOptions, register
from stockade.scan.analyzers.gobuildinfo import MAGIC
from stockade.scan.analyzers.npm_lock import parse_package_lock, parse_yarn_lock
from stockade.scan.analyzers.rpm import TAG_ARCH, TAG_EPOCH, TAG_NAME, TAG_RELEASE, TAG_VERSION
from stockade.scan.files import FileInfo
from stockade.scan.options import ScanOptions
from stockade.scan.purl import purl_of
from stockade.scan.scanner import scan_image


def _analyze(analyzer_id: str, path: str, content: bytes, mode: int = 0o644) -> list[Package]:
    analyzer = ANALYZERS.get(analyzer_id)(AnalyzerOptions(lockfiles=True))
    info = FileInfo(path=path, size=len(content), mode=mode)
    assert analyzer.required(info), f"{analyzer_id} should want {path}"
    result = analyzer.analyze(info, content)
    return result.packages if result else []


def test_registry_refuses_a_second_analyzer_with_the_same_id() -> None:
    with pytest.raises(DuplicateRegistrationError):

        @register
        class Again(Analyzer):
            id = "dpkg"

            def required(self, info: FileInfo) -> bool:
                return False

            def analyze(self, info: FileInfo, content: bytes) -> None:
                return None


def test_os_release_and_debian_version() -> None:
    os_release = ANALYZERS.get("os-release")(AnalyzerOptions())
    info = FileInfo("etc/os-release", 40)
    result = os_release.analyze(info, b'NAME="Alpine"\nID=alpine\nVERSION_ID=3.20.1\n')
    assert result is not None and result.os is not None
    assert (result.os.family, result.os.name) == ("alpine", "3.20.1")
    version = ANALYZERS.get("distro-version")(AnalyzerOptions())
    assert version.analyze(FileInfo("etc/debian_version", 5), b"trixie/sid\n") is None


def test_dpkg_status_and_status_d() -> None:
    status = (
        b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
        b"Source: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\nDescription: x\n more\n\n"
        b"Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n"
    )
    [libc] = _analyze("dpkg", "var/lib/dpkg/status", status)
    assert (libc.source_name, libc.source_version) == ("glibc", "2.36-9")
    assert purl_of(libc) == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"
    distroless = b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"
    [tz] = _analyze("dpkg", "var/lib/dpkg/status.d/tzdata", distroless)
    assert tz.name == "tzdata"


def test_apk_installed() -> None:
    db = b"C:Q1x=\nP:openssl\nV:3.3.1-r0\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:zlib\nV:1.3.1-r1\n"
    found = _analyze("apk", "lib/apk/db/installed", db)
    assert [(p.name, p.version, p.licenses) for p in found] == [
        ("openssl", "3.3.1-r0", ("Apache-2.0",)),
        ("zlib", "1.3.1-r1", ()),
    ]


def _rpm_header(tags: dict[int, str | int]) -> bytes:
    index, data = b"", b""
    for tag, value in tags.items():
        if isinstance(value, int):
            data += b"\0" * (-len(data) % 4)
            index += struct.pack(">iiii", tag, 4, len(data), 1)
            data += struct.pack(">i", value)
        else:
            index += struct.pack(">iiii", tag, 6, len(data), 1)
            data += value.encode() + b"\0"
    return struct.pack(">ii", len(tags), len(data)) + index + data


def test_rpm_sqlite_database() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    headers: list[dict[int, str | int]] = [
        {TAG_NAME: "bash", TAG_VERSION: "5.1.8", TAG_RELEASE: "9.el9", TAG_ARCH: "x86_64"},
        {TAG_NAME: "openssl", TAG_EPOCH: 1, TAG_VERSION: "3.0.7", TAG_RELEASE: "27.el9"},
        {TAG_NAME: "gpg-pubkey", TAG_VERSION: "fd431d51", TAG_RELEASE: "4ae0493b"},
    ]
    db.executemany("INSERT INTO Packages (blob) VALUES (?)", [(_rpm_header(h),) for h in headers])
    db.commit()
    content = db.serialize()
    found = _analyze("rpm", "var/lib/rpm/rpmdb.sqlite", content)
    assert [(p.name, p.version) for p in found] == [
        ("bash", "5.1.8-9.el9"),
        ("openssl", "1:3.0.7-27.el9"),
    ]
    assert purl_of(found[1]) == "pkg:rpm/openssl@3.0.7-27.el9?epoch=1"


def test_python_dist_info_and_egg_info() -> None:
    metadata = b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\nLicense: BSD\n\nbody\n"
    [jinja] = _analyze(
        "python-pkg", "usr/lib/python3/site-packages/Jinja2-2.10.dist-info/METADATA", metadata
    )
    assert (jinja.name, jinja.version, jinja.licenses) == ("Jinja2", "2.10", ("BSD",))
    assert purl_of(jinja) == "pkg:pypi/jinja2@2.10"
    pkg_info = b"Name: six\nVersion: 1.16.0\nClassifier: License :: OSI Approved :: MIT License\n"
    [six] = _analyze("python-pkg", "x/six.egg-info/PKG-INFO", pkg_info)
    assert six.licenses == ("MIT",)  # classifiers become SPDX ids


def test_npm_package_json_roots_only() -> None:
    npm = ANALYZERS.get("node-pkg")(AnalyzerOptions())
    assert not npm.required(FileInfo("app/node_modules/rxjs/ajax/package.json", 10))
    assert npm.required(FileInfo("app/node_modules/@scope/name/package.json", 10))
    [pkg] = _analyze(
        "node-pkg",
        "app/node_modules/@types/node/package.json",
        b'{"name": "@types/node", "version": "20.1.0", "license": {"type": "MIT"}}',
    )
    assert purl_of(pkg) == "pkg:npm/%40types/node@20.1.0" and pkg.licenses == ("MIT",)


def test_package_lock_versions_and_yarn_lock() -> None:
    v1 = json.dumps(
        {
            "lockfileVersion": 1,
            "dependencies": {
                "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
                "d": {"version": "1.0.0", "dev": True},
            },
        }
    ).encode()
    assert [(p.name, p.version) for p in parse_package_lock(v1, "p")] == [
        ("a", "1.0.0"),
        ("b", "2.0.0"),
    ]
    v3 = json.dumps(
        {
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "root"},
                "node_modules/a": {"version": "1.0.0"},
                "node_modules/a/node_modules/@s/c": {"version": "3.0.0"},
            },
        }
    ).encode()
    assert [(p.name, p.version) for p in parse_package_lock(v3, "p")] == [
        ("a", "1.0.0"),
        ("@s/c", "3.0.0"),
    ]
    yarn = (
        '# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1.0":\n'
        '  version "7.24.0"\n\nlodash@^4.17.0:\n  version "4.17.21"\n'
    )
    assert [(p.name, p.version) for p in parse_yarn_lock(yarn, "y")] == [
        ("@babel/core", "7.24.0"),
        ("lodash", "4.17.21"),
    ]


def _go_binary(version: str, modinfo: str) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while n >= 0x80:
            out += bytes([n & 0x7F | 0x80])
            n >>= 7
        return out + bytes([n])

    sentinel_start = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
    sentinel_end = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"
    info = sentinel_start + modinfo.encode() + sentinel_end
    header = (MAGIC + bytes([8, 2])).ljust(32, b"\0")
    body = header + varint(len(version)) + version.encode() + varint(len(info)) + info
    return b"\x7fELF" + b"\0" * 2044 + body + b"\0" * 64


def test_go_binary_build_info() -> None:
    modinfo = (
        "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n"
        "dep\tgithub.com/pkg/errors\tv0.9.1\th1:x=\n"
        "dep\tgolang.org/x/net\tv0.1.0\th1:y=\n=>\tgolang.org/x/net\tv0.17.0\th1:z=\n"
    )
    found = _analyze("gobinary", "usr/local/bin/app", _go_binary("go1.21.5", modinfo), 0o755)
    assert [(p.name, p.version) for p in found] == [
        ("example.com/app", ""),  # (devel) is no version, as Trivy has it
        ("github.com/pkg/errors", "v0.9.1"),
        ("golang.org/x/net", "v0.17.0"),
        ("stdlib", "v1.21.5"),
    ]
    assert purl_of(found[1]) == "pkg:golang/github.com/pkg/errors@v0.9.1"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_jar_pom_properties_manifest_and_nested() -> None:
    inner = _zip(
        {"META-INF/MANIFEST.MF": b"Implementation-Title: inner-lib\nImplementation-Version: 2.0\n"}
    )
    outer = _zip(
        {
            "META-INF/maven/org.example/app/pom.properties": (
                b"groupId=org.example\nartifactId=app\nversion=1.2.3\n"
            ),
            "BOOT-INF/lib/inner-lib-2.0.jar": inner,
        }
    )
    found = _analyze("jar", "opt/app.jar", outer)
    assert [(p.name, p.version) for p in found] == [
        ("org.example:app", "1.2.3"),
        ("inner-lib", "2.0"),
    ]
    assert purl_of(found[0]) == "pkg:maven/org.example/app@1.2.3"
    assert found[0].ecosystem is Ecosystem.MAVEN


def test_gemspec() -> None:
    spec = (
        b'Gem::Specification.new do |s|\n  s.name = "rack"\n  s.version = "2.2.8"\n'
        b'  s.licenses = ["MIT"]\nend\n'
    )
    [rack] = _analyze("gemspec", "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.8.gemspec", spec)
    assert (rack.name, rack.version, rack.licenses, purl_of(rack)) == (
        "rack",
        "2.2.8",
        ("MIT",),
        "pkg:gem/rack@2.2.8",
    )


def test_dpkg_copyright_licenses() -> None:
    analyzer = ANALYZERS.get("dpkg-license")(AnalyzerOptions())
    content = (
        b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        b"Files: *\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: LGPL-2.1 or Expat\n"
        b"License: GPL-2+\n On Debian systems...\n"
    )
    info = FileInfo("usr/share/doc/libfoo1/copyright", len(content))
    assert analyzer.required(info)
    assert not analyzer.required(FileInfo("usr/share/doc/libfoo1/examples/copyright", 1))
    result = analyzer.analyze(info, content)
    assert result is not None
    assert result.licenses == {"libfoo1": ["GPL-2.0-or-later", "LGPL-2.1-only", "MIT"]}
    assert analyzer.analyze(info, b"This is free software.\n") is None


def test_large_go_binary_is_read_past_the_default_file_limit(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr/local/bin").mkdir(parents=True)
    modinfo = "path\tx\nmod\tx\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:x=\n"
    binary = _go_binary("go1.22.1", modinfo)
    tool = root / "usr/local/bin/tool"
    tool.write_bytes(binary + b"\0" * (12 * 1024 * 1024))  # past the 10 MiB default
    tool.chmod(0o755)
    (root / "big.env").write_bytes(b"GH=ghp_" + b"Zq8" * 12 + b"\n" + b"#" * (12 * 1024 * 1024))
    result = scan_image(f"dir:{root}", ScanOptions(cache_dir=None))
    assert ("github.com/pkg/errors", "v0.9.1") in {(p.name, p.version) for p in result.packages}
    assert not [f for f in result.findings if f.kind == "secret"]  # secrets stop at 10 MiB
