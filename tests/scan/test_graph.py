"""The dependency graph: requirements resolved per ecosystem as its installer would."""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.dpkg import relation_names
from stockade.scan.analyzers.npm_lock import NpmLockAnalyzer, parse_package_lock
from stockade.scan.cpe import os_cpe, package_cpe
from stockade.scan.files import FileInfo
from stockade.scan.graph import link

SITE = "usr/lib/python3.11/site-packages"


def _deb(name: str, requires: tuple[str, ...] = (), provides: tuple[str, ...] = ()) -> Package:
    return Package(
        name=name, version="1", ecosystem=Ecosystem.DEBIAN, requires=requires, provides=provides
    )


def _names(packages: list[Package], name: str) -> list[str]:
    by_id = {p.id: p.name for p in packages}
    return sorted(by_id[d] for p in packages if p.name == name for d in p.depends_on)


def test_debian_relations_alternatives_and_virtual_packages() -> None:
    field = (
        "libc6 (>= 2.34), mawk | awk:any, perl [amd64] <!nocheck>,\n debconf (>= 0.5) | debconf-2.0"
    )
    assert relation_names(field) == ("libc6", "mawk|awk", "perl", "debconf|debconf-2.0")
    packages = link(
        [
            _deb("base-files", requires=("mawk|awk", "libc6", "missing")),
            _deb("mawk", provides=("awk",)),
            _deb("original-awk", provides=("awk",)),
            _deb("libc6", requires=("libc6",)),  # a package never depends on itself
        ]
    )
    assert _names(packages, "base-files") == ["libc6", "mawk", "original-awk"]
    assert _names(packages, "libc6") == []


def test_python_markers_extras_and_site_dirs() -> None:
    def dist(name: str, site: str = SITE, requires: tuple[str, ...] = ()) -> Package:
        path = f"{site}/{name}-1.dist-info/METADATA"
        return Package(
            name=name, version="1", ecosystem=Ecosystem.PYPI, path=path, requires=requires
        )

    requires = (
        "MarkupSafe (>=0.23)",  # the old parenthesised form, a name to normalise
        "certifi; extra == 'secure'",  # no extra was asked for
        'win-inet-pton; sys_platform == "win32"',
        'tomli>=1; python_version < "3.11"',  # the image's Python is 3.11
        "not a requirement ((",
    )
    packages = link(
        [
            dist("Jinja2", requires=requires),
            dist("markupsafe"),
            dist("markupsafe", site="opt/venv/lib/python3.11/site-packages"),
            dist("certifi"),
            dist("win-inet-pton"),
            dist("tomli"),
        ]
    )
    jinja = next(p for p in packages if p.name == "Jinja2")
    assert jinja.depends_on == (f"pkg:pypi/markupsafe@1#{SITE}/markupsafe-1.dist-info/METADATA",)


def test_npm_node_lookup_and_lock_trees() -> None:
    def installed(path: str, name: str, version: str, requires: tuple[str, ...] = ()) -> Package:
        return Package(
            name=name, version=version, ecosystem=Ecosystem.NPM, path=path, requires=requires
        )

    packages = link(
        [
            installed("app/package.json", "app", "1.0.0", ("a", "b")),
            installed("app/node_modules/a/package.json", "a", "1.0.0", ("b",)),
            installed("app/node_modules/a/node_modules/b/package.json", "b", "2.0.0"),
            installed("app/node_modules/b/package.json", "b", "1.0.0"),
        ]
    )
    versions = {p.id: p.version for p in packages}
    app, a = packages[0], packages[1]
    assert sorted(versions[d] for d in app.depends_on) == ["1.0.0", "1.0.0"]
    assert [versions[d] for d in a.depends_on] == ["2.0.0"]  # its own nested copy first

    lock = b"""{"lockfileVersion": 3, "packages": {
      "": {"dependencies": {"a": "^1"}},
      "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "^2"}},
      "node_modules/a/node_modules/b": {"version": "2.0.0"},
      "node_modules/b": {"version": "1.0.0"}}}"""
    locked = parse_package_lock(lock, "app/package-lock.json")
    assert {p.name: p.requires for p in locked if p.requires} == {"a": ("b@2.0.0",)}
    info = FileInfo(path="app/package-lock.json", size=len(lock))
    analysis = NpmLockAnalyzer(AnalyzerOptions(lockfiles=True)).analyze(info, lock)
    assert analysis is not None
    linked = {(p.name, p.version): p for p in link(analysis.packages)}
    b2 = linked["b", "2.0.0"]
    assert b2.from_lockfile and linked["a", "1.0.0"].depends_on == (b2.id,)


def test_cpes_of_os_packages_and_the_os() -> None:
    libc = Package(name="libc6", version="2.36-9+deb12u4", ecosystem=Ecosystem.DEBIAN)
    assert package_cpe(libc) == "cpe:2.3:a:libc6:libc6:2.36-9\\+deb12u4:*:*:*:*:*:*:*"
    epoch = Package(name="bsdutils", version="1:2.38.1-5", ecosystem=Ecosystem.DEBIAN)
    assert package_cpe(epoch) == "cpe:2.3:a:bsdutils:bsdutils:1\\:2.38.1-5:*:*:*:*:*:*:*"
    assert package_cpe(Package(name="lodash", version="4.17.15", ecosystem=Ecosystem.NPM)) == ""
    assert os_cpe("debian", "12.15") == "cpe:2.3:o:debian:debian_linux:12:*:*:*:*:*:*:*"
    assert os_cpe("alpine", "3.20.3") == "cpe:2.3:o:alpinelinux:alpine_linux:3.20.3:*:*:*:*:*:*:*"
