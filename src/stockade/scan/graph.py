"""The dependency graph: each package's `requires` resolved to the installed packages.

Pure: packages in, packages with `id` and `depends_on` out. Each ecosystem resolves as
its own installer would: Debian by name or virtual name (every installed alternative of
"a | b" satisfies it), Python by normalised name with environment markers evaluated for
the image's Python (no extras asked for), npm as node's loader looks up node_modules
(lock files pin "name@version"), Go within one binary, Maven by "group:artifact".
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

import msgspec

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.purl import purl_of

_PYTHON_DIR = re.compile(r"/python(\d+)\.(\d+)/")
Resolver = Callable[[Package, str], Iterable[int]]


def with_ids(packages: list[Package]) -> list[Package]:
    """Packages with a unique `id`: the purl, plus "#path" (and "#n") where it repeats."""
    counts: dict[str, int] = defaultdict(int)
    for package in packages:
        counts[purl_of(package)] += 1
    taken: set[str] = set()
    named = []
    for package in packages:
        purl = purl_of(package)
        ident = purl if counts[purl] == 1 else f"{purl}#{package.path}"
        n = 1
        while ident in taken:
            n += 1
            ident = f"{purl}#{package.path}#{n}"
        taken.add(ident)
        named.append(msgspec.structs.replace(package, id=ident))
    return named


def link(packages: list[Package]) -> list[Package]:
    """Packages with ids and `depends_on`: the ids of the installed packages they require."""
    packages = with_ids(packages)
    resolvers: dict[Ecosystem, Resolver] = {
        Ecosystem.DEBIAN: _debian(packages),
        Ecosystem.PYPI: _python(packages),
        Ecosystem.NPM: _npm(packages),
        Ecosystem.GO: _same_path(packages, Ecosystem.GO),
        Ecosystem.MAVEN: _maven(packages),
    }
    linked = []
    for index, package in enumerate(packages):
        resolve = resolvers.get(package.ecosystem)
        if resolve is None or not package.requires:
            linked.append(package)
            continue
        found: dict[int, None] = {}
        for requirement in package.requires:
            found.update(dict.fromkeys(i for i in resolve(package, requirement) if i != index))
        ids = tuple(packages[i].id for i in found)
        linked.append(msgspec.structs.replace(package, depends_on=ids))
    return linked


def _index(
    packages: list[Package], ecosystem: Ecosystem, keys: Callable[[Package], Iterable[str]]
) -> dict[str, list[int]]:
    table: dict[str, list[int]] = defaultdict(list)
    for i, package in enumerate(packages):
        if package.ecosystem is ecosystem:
            for key in keys(package):
                table[key].append(i)
    return table


def _debian(packages: list[Package]) -> Resolver:
    provided = _index(packages, Ecosystem.DEBIAN, lambda p: (p.name, *p.provides))

    def resolve(package: Package, requirement: str) -> Iterable[int]:
        del package
        for choice in requirement.split("|"):
            yield from provided.get(choice, ())

    return resolve


def _site_dir(path: str) -> str:
    """The directory holding a distribution's .dist-info (or .egg-info)."""
    return (
        posixpath.dirname(posixpath.dirname(path))
        if path.endswith("/METADATA")
        else (posixpath.dirname(path))
    )


def _python(packages: list[Package]) -> Resolver:
    if not any(p.ecosystem is Ecosystem.PYPI and p.requires for p in packages):
        return _nothing  # no parsing to do: packaging is not even imported
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    by_name = _index(packages, Ecosystem.PYPI, lambda p: (canonicalize_name(p.name),))

    def resolve(package: Package, requirement: str) -> Iterable[int]:
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement:
            return ()
        if parsed.marker is not None and not parsed.marker.evaluate(_environment(package)):
            return ()
        found = by_name.get(canonicalize_name(parsed.name), [])
        here = _site_dir(package.path)
        local = [i for i in found if _site_dir(packages[i].path) == here]
        return local or found

    return resolve


def _nothing(package: Package, requirement: str) -> Iterable[int]:
    del package, requirement
    return ()


def _environment(package: Package) -> dict[str, str]:
    """PEP 508 marker values for the Python the package is installed for, no extras."""
    environment = {"extra": "", "sys_platform": "linux", "platform_system": "Linux"}
    environment |= {"os_name": "posix", "implementation_name": "cpython"}
    environment["platform_python_implementation"] = "CPython"
    match = _PYTHON_DIR.search("/" + package.path)
    if match:
        version = f"{match.group(1)}.{match.group(2)}"
        environment |= {"python_version": version, "python_full_version": f"{version}.0"}
    return environment


def _npm(packages: list[Package]) -> Resolver:
    installed = {
        posixpath.dirname(p.path): i
        for i, p in enumerate(packages)
        if p.ecosystem is Ecosystem.NPM and not p.from_lockfile
    }
    pinned = _index(packages, Ecosystem.NPM, lambda p: (f"{p.path}|{p.name}@{p.version}",))

    def resolve(package: Package, requirement: str) -> Iterable[int]:
        if package.from_lockfile:
            return pinned.get(f"{package.path}|{requirement}", ())
        # paths are relative and normalised: string splits stand in for posixpath's
        # dirname and join (asked a few times per dependency of every npm package)
        directory = package.path.rpartition("/")[0]
        while True:  # node looks in node_modules of the package's dir, then of each parent
            parent, _, base = directory.rpartition("/")
            if base != "node_modules":
                prefix = f"{directory}/" if directory else ""
                found = installed.get(f"{prefix}node_modules/{requirement}")
                if found is not None:
                    return (found,)
            if not directory:
                return ()
            directory = parent

    return resolve


def _same_path(packages: list[Package], ecosystem: Ecosystem) -> Resolver:
    by_path_name = _index(packages, ecosystem, lambda p: (f"{p.path}|{p.name}",))

    def resolve(package: Package, requirement: str) -> Iterable[int]:
        return by_path_name.get(f"{package.path}|{requirement}", ())

    return resolve


def _outer_archive(path: str) -> str:
    """The archive on disk a (maybe nested) Maven package was found in."""
    for suffix in (".jar/", ".war/", ".ear/", ".par/"):
        head, sep, _ = path.partition(suffix)
        if sep:
            return head + suffix[:-1]
    return path


def _maven(packages: list[Package]) -> Resolver:
    by_name = _index(packages, Ecosystem.MAVEN, lambda p: (p.name,))

    def resolve(package: Package, requirement: str) -> Iterable[int]:
        found = by_name.get(requirement, [])
        outer = _outer_archive(package.path)
        local = [i for i in found if _outer_archive(packages[i].path) == outer]
        return local or found

    return resolve
