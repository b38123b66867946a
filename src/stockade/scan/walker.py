"""Walk a layer tar or a directory once, reading only the files someone asked for."""

from __future__ import annotations

import operator
import os
import posixpath
import stat
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from stockade.scan.errors import LayerError, LimitExceededError
from stockade.scan.files import FileInfo, Readable, Selection, WalkLimits

if TYPE_CHECKING:  # a layer's readers load with `walk_layer`: a directory walk needs none
    from stockade.scan.tarstream import TarStream

T = TypeVar("T", bound=Selection)
Select = Callable[[FileInfo], T | None]
Content = bytes | Readable  # a Readable when the selection streams the file

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
TAR_BUFSIZE = 1024 * 1024
MAX_KEPT_FOR_LINKS = 8 * 1024 * 1024
ROOTFS_PSEUDO_DIRS = ("proc", "sys", "dev")
_BY_NAME = operator.attrgetter("name")
BYTES_PER_ENTRY = 4096  # in a size estimate, file bytes worth as much work as one entry


class WalkReport(msgspec.Struct):
    """What a walk saw besides files: deletions, opaque directories and warnings."""

    whiteouts: list[str] = msgspec.field(default_factory=list)
    opaque_dirs: list[str] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    # kept only when asked for ({}: a scan that hashes files): each symbolic link's target
    # as written, and each hard link to a file not held in memory, by the path it links to
    links: dict[str, str] | None = None
    hardlinks: dict[str, str] = msgspec.field(default_factory=dict)


def safe_path(name: str) -> str | None:
    """The normalized relative path of a tar entry; None when it is absolute or escapes."""
    while name.startswith("./"):
        name = name[2:]
    if name.startswith("/"):
        return None
    if name and "//" not in name and "/." not in name and name[0] != "." and name[-1] != "/":
        return name  # no empty, "." or ".." part: already what normpath would make of it
    path = posixpath.normpath(name) if name else "."
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


def _escapes(base_dir: str, target: str) -> bool:
    if target.startswith("/"):
        return False  # absolute link targets resolve inside the image root
    joined = posixpath.normpath(posixpath.join(base_dir, target))
    return joined == ".." or joined.startswith("../")


def walk_layer(
    blob: Readable,
    what: str,
    select: Select[T],
    limits: WalkLimits,
    report: WalkReport,
    diff_id: str = "",
) -> Iterator[tuple[FileInfo, T, Content]]:
    """Yield (info, selection, content) for each selected regular file of a layer blob.

    The content is bytes when the selection wants the file in memory, else a reader of
    the entry's data, valid until the next item is asked for.

    With `diff_id`, the uncompressed tar must hash to it: DigestMismatchError (naming the
    layer) at the end of the walk otherwise, so a layer cannot pass for another one.
    """
    import zlib

    import zstandard
    from isal import isal_zlib

    from stockade.scan.decompress import decompressed
    from stockade.scan.prefetch import PrefetchReader
    from stockade.scan.sources.blobstore import VerifyingReader
    from stockade.scan.tarstream import TarStream

    # four threads: one reads and hashes the blob, one inflates it, one hashes the tar for
    # its diff id, this one walks it; all but this one mostly run C that releases the GIL
    # (the gzip reader never closes what it reads: `blob_ahead` is closed here)
    blob_ahead = PrefetchReader(blob)
    tar: PrefetchReader | None = None
    try:
        stream: Readable = decompressed(blob_ahead, limits.max_layer_size, what)
        if diff_id:
            stream = PrefetchReader(stream)
            stream = VerifyingReader(stream, diff_id, f"{what} (uncompressed, diff id)")
        tar = PrefetchReader(stream)
        yield from _entries(TarStream(tar), what, select, limits, report)
        while tar.skip(TAR_BUFSIZE):  # drain padding so the blob digest is checked
            pass
    except LimitExceededError:
        raise  # already names the layer and the limit
    except LayerError as e:
        raise LayerError(f"{what}: corrupt or truncated layer ({e})") from e
    except (EOFError, OSError, zlib.error, isal_zlib.error, zstandard.ZstdError) as e:  # type: ignore[misc]
        raise LayerError(f"{what}: corrupt or truncated layer ({e})") from e
    finally:
        if tar is not None:
            tar.close()  # stops the threads after the first, which read from it
        blob_ahead.close()  # closes the blob


def _entries(
    tar: TarStream, what: str, select: Select[T], limits: WalkLimits, report: WalkReport
) -> Iterator[tuple[FileInfo, T, Content]]:
    from stockade.scan.tarstream import HARDLINK, SYMLINK

    kept: dict[str, bytes] = {}  # recent contents, for hardlinks to them (bounded)
    kept_bytes = 0
    for member in tar:
        path = safe_path(member.name)
        if path is None:
            report.warnings.append(f"{what}: skipped entry {member.name!r} outside the root")
            continue
        directory, _, base = path.rpartition("/")
        if base.startswith(WHITEOUT_PREFIX):
            if base == OPAQUE_MARKER:
                report.opaque_dirs.append(directory)
            else:
                report.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
            continue
        is_symlink, is_hardlink = member.kind == SYMLINK, member.kind == HARDLINK
        if (is_symlink or is_hardlink) and _escapes(
            directory if is_symlink else "", member.linkname
        ):
            kind = "symlink" if is_symlink else "hardlink"
            report.warnings.append(
                f"{what}: skipped {kind} {path} -> {member.linkname} pointing outside the root"
            )
            continue
        if not (member.is_regular or is_hardlink) or limits.skipped(path):
            if is_symlink and report.links is not None:
                report.links[path] = member.linkname
            continue
        if is_hardlink:  # same content as a file met earlier in this layer
            target = kept.get(safe_path(member.linkname) or "")
            if target is not None:
                info = FileInfo(path=path, size=len(target), mode=member.mode)
                linked = select(info)
                if linked is not None:
                    yield info, linked, target
            elif report.links is not None:
                report.hardlinks[path] = safe_path(member.linkname) or ""
            continue
        info = FileInfo(path=path, size=member.size, mode=member.mode)
        if member.sparse:
            if member.size > limits.max_file_size:
                report.warnings.append(f"{what}: skipped sparse file {path} ({member.size} bytes)")
            continue
        chosen = select(info)
        if chosen is None:
            continue
        if not chosen.in_memory:
            yield info, chosen, tar  # read forward; the rest is skipped on the next entry
            continue
        if member.size > limits.max_file_size:
            report.warnings.append(f"{what}: skipped {path} ({member.size} bytes, over the limit)")
            continue
        content = tar.content()
        if kept_bytes + len(content) <= MAX_KEPT_FOR_LINKS:
            kept[path] = content
            kept_bytes += len(content)
        yield info, chosen, content


Listings = dict[str, list[os.DirEntry[str]]]  # directory listings made ahead, by rel_dir


def walk_directory(
    root: Path,
    select: Select[T],
    limits: WalkLimits,
    report: WalkReport,
    start: str = "",
    subdirs: bool = True,
    listings: Listings | None = None,
) -> Iterator[tuple[FileInfo, T, Content]]:
    """Yield (info, selection, content) for selected regular files under `root`; no symlinks.

    The content is bytes, or an open file (seekable) when the selection streams it.
    Directory entries' types come from the directory listing (no stat), so only regular
    files are stat'ed; skipped directories are never entered. `start` walks one subtree
    (paths stay relative to `root`); without `subdirs`, only the files directly in it.
    `listings` (from `list_tree_head`) are used, and dropped, instead of listing again.
    Order: a directory's files by name, then its subdirectories' walks, last name first.
    """
    skipped = frozenset(limits.skip_dirs)
    stack = [start]
    while stack:
        rel_dir = stack.pop()
        known = listings.pop(rel_dir, None) if listings is not None else None
        entries = known if known is not None else _listing(root, rel_dir, report)
        prefix = f"{rel_dir}/" if rel_dir else ""
        for entry in entries:
            rel = prefix + entry.name
            if _left_out(rel, rel_dir, entry, skipped):
                continue  # under a skipped directory nothing is met: it is never entered
            try:
                if entry.is_dir(follow_symlinks=False):
                    if subdirs:
                        stack.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    if report.links is not None and entry.is_symlink():
                        report.links[rel] = os.readlink(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            info = FileInfo(rel, st.st_size, st.st_mode)
            if st.st_size > limits.max_file_size and st.st_blocks * 512 < st.st_size // 2:
                report.warnings.append(f"{rel}: skipped sparse file ({st.st_size} bytes)")
                continue
            chosen = select(info)  # asked here, not in a generator per file: most say no
            if chosen is not None:
                yield from _directory_file(entry.path, info, chosen, limits, report)


def list_tree_head(
    root: Path, limits: WalkLimits, budget: int, declared: tuple[frozenset[str], tuple[str, ...]]
) -> tuple[Listings, bool]:
    """Listings `walk_directory` would make of `root`, breadth first, until the tree is
    listed whole (True) or a cheap size estimate passes `budget` (False: the tree is large,
    and the listings made hold its top levels). Each entry counts 1, and each regular file
    named as `declared` (file names, name endings) counts 1 more per BYTES_PER_ENTRY (a jar
    costs more than a package.json); its stat is kept by the entry for the walk."""
    listings: Listings = {}
    pending, spent = deque([""]), 0
    while pending and spent < budget:
        rel_dir = pending.popleft()
        report = WalkReport()
        entries = _listing(root, rel_dir, report)
        spent += len(entries) + _weight(entries, declared)
        if report.warnings:
            continue  # the walk lists it again, and warns where one walk would
        listings[rel_dir] = entries
        pending.extend(subdirectories_of(rel_dir, entries, limits))
    return listings, spent < budget


def _weight(
    entries: list[os.DirEntry[str]], declared: tuple[frozenset[str], tuple[str, ...]]
) -> int:
    names, suffixes = declared
    weight = 0
    for entry in entries:
        if entry.name in names or entry.name.endswith(suffixes):
            try:
                if entry.is_file(follow_symlinks=False):
                    weight += entry.stat(follow_symlinks=False).st_size // BYTES_PER_ENTRY
            except OSError:
                continue
    return weight


def listing_of(root: Path, rel_dir: str) -> list[os.DirEntry[str]] | None:
    """`rel_dir`'s entries as `walk_directory` lists them; None when it cannot be listed
    (the walk then lists it again and says why)."""
    report = WalkReport()
    entries = _listing(root, rel_dir, report)
    return None if report.warnings else entries


def subdirectories_of(
    rel_dir: str, entries: list[os.DirEntry[str]], limits: WalkLimits
) -> list[str]:
    """The subdirectories `walk_directory` enters from `rel_dir`, in the order it pushes
    them (by name), from a listing of `rel_dir`."""
    skipped = frozenset(limits.skip_dirs)
    prefix = f"{rel_dir}/" if rel_dir else ""
    found = []
    for entry in entries:
        rel = prefix + entry.name
        if _left_out(rel, rel_dir, entry, skipped):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                found.append(rel)
        except OSError:
            continue
    return found


def _left_out(rel: str, rel_dir: str, entry: os.DirEntry[str], skipped: frozenset[str]) -> bool:
    """An entry the walk never enters: skipped by name, or a host root's pseudo filesystem."""
    return rel in skipped or (not rel_dir and _pseudo_filesystem(entry))


def _pseudo_filesystem(entry: os.DirEntry[str]) -> bool:
    """A host root's /proc, /sys or /dev: mounted there, never walked. A directory of the
    same name that is no mount point (a Maven repository's `dev/failsafe`, a project's
    `dev/`) is walked like any other."""
    return entry.name in ROOTFS_PSEUDO_DIRS and os.path.ismount(entry.path)


def _listing(root: Path, rel_dir: str, report: WalkReport) -> list[os.DirEntry[str]]:
    """A directory's entries by name; none (and a warning) when it cannot be listed."""
    top = str(root)
    base = top.rstrip("/")  # "/" scans the host root: "/usr", not "//usr"
    try:
        with os.scandir(f"{base}/{rel_dir}" if rel_dir else top) as listing:
            return sorted(listing, key=_BY_NAME)
    except OSError as e:
        report.warnings.append(f"{root}/{rel_dir}: cannot list ({e.strerror})")
        return []


def _directory_file(
    path: str, info: FileInfo, chosen: T, limits: WalkLimits, report: WalkReport
) -> Iterator[tuple[FileInfo, T, Content]]:
    rel, size = info.path, info.size
    if chosen.in_memory and size > limits.max_file_size:
        report.warnings.append(f"{rel}: skipped ({size} bytes, over the limit)")
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        report.warnings.append(f"{rel}: cannot read ({e.strerror})")
        return
    with os.fdopen(fd, "rb") as handle:
        head = b""
        if chosen.head_size:  # e.g. a binary the secret analyzer needs only 8 kB of
            head = handle.read(chosen.head_size)
            narrowed = chosen.after_head(head)
            if narrowed is None:
                return
            chosen = narrowed
        if not chosen.in_memory:
            yield info, chosen, handle
            return
        # not the cap: read(n) allocates n bytes first; one byte more shows a file that grew
        content = head + handle.read(size + 1 - len(head)) if head else handle.read(size + 1)
    if len(content) > limits.max_file_size:
        report.warnings.append(f"{rel}: skipped (grew past the size limit while read)")
        return
    yield info, chosen, content
