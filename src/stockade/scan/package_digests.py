"""The digests of each file a package database lists, found in the image's merged view.

A listed path is followed through symbolic links the way the kernel would (a merged-/usr
image lists /bin/bash and holds it at usr/bin/bash); a path that leads to no regular file
(deleted, a whiteout, a directory, a dangling link, not read) keeps the digests its database
gave and is named in a warning.
"""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Package, PackageFile
from stockade.scan.digests import FileDigest

MAX_HOPS = 40  # as the kernel's limit on symbolic links followed in one lookup
MAX_NAMED = 5  # missing files named per package; the rest are counted


def resolved(path: str, links: dict[str, str]) -> str | None:
    """`path` (relative to the root) with every symbolic link in it followed; None on a
    loop. Links hold each link's target as written ("/" starts again at the root)."""
    pending = path.split("/")
    pending.reverse()
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        target = links.get("/".join((*done, part)))
        if target is None:
            done.append(part)
            continue
        hops += 1
        if hops > MAX_HOPS:
            return None
        if target.startswith("/"):
            done.clear()
        pending.extend(reversed(target.split("/")))
    return "/".join(done)


def with_digests(
    package: Package,
    digests: dict[str, FileDigest],
    links: dict[str, str],
    deleted: frozenset[str] | set[str] = frozenset(),
) -> tuple[Package, list[str]]:
    """The package with its listed files' SHA-1 and SHA-256 (of the content found) filled
    in, and warnings naming listed files that are no regular file in the image, or whose
    content is not what the package database recorded."""
    files: list[PackageFile] = []
    missing: list[str] = []
    changed: list[str] = []
    for file in package.files:
        found = _digest_of(file.path.lstrip("/"), digests, links)
        if found is None:
            missing.append(f"{file.path} ({_why_absent(file.path.lstrip('/'), links, deleted)})")
            files.append(file)
            continue
        if file.sha256 and file.sha256 != found.sha256:
            changed.append(file.path)
        files.append(msgspec.structs.replace(file, sha1=found.sha1, sha256=found.sha256))
    updated = msgspec.structs.replace(package, files=tuple(files))
    what = f"{package.ecosystem} package {package.name} {package.version}"
    warnings = []
    if missing:
        warnings.append(
            f"{what}: {len(missing)} of its {len(files)} listed file(s) are no regular file "
            f"in the scanned image, so not hashed: {_named(missing)}"
        )
    if changed:
        warnings.append(
            f"{what}: {len(changed)} file(s) differ from the SHA-256 its RECORD lists: "
            f"{_named(changed)}"
        )
    return updated, warnings


def _digest_of(
    path: str, digests: dict[str, FileDigest], links: dict[str, str]
) -> FileDigest | None:
    found = digests.get(path)
    if found is None and links:
        real = resolved(path, links)
        found = digests.get(real) if real is not None else None
    return found


def _why_absent(path: str, links: dict[str, str], deleted: frozenset[str] | set[str]) -> str:
    """Why a listed path leads to no regular file: a whiteout, a link to nothing, or absent."""
    directory, _, name = path.rpartition("/")
    parent = (resolved(directory, links) or directory) if directory else ""
    real = f"{parent}/{name}" if parent else name
    if real in links:
        return f"a symbolic link to {links[real]}, which is no regular file"
    ancestors = {path, real, *_ancestors(path), *_ancestors(real)}
    if deleted & ancestors:
        return "deleted by a later layer"
    return "absent, or a directory or special file"


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _named(paths: list[str]) -> str:
    more = f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else ""
    return ", ".join(paths[:MAX_NAMED]) + more
