"""The analyzers enabled for one scan, asked together about each file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from stockade.scan.analyzers import ANALYZERS, Analyzer, AnalyzerOptions, FileAnalysis
from stockade.scan.analyzers.base import SkippedFile
from stockade.scan.analyzers.image_config import CONFIG_ANALYZERS, ImageConfigAnalyzer
from stockade.scan.files import FileInfo, RandomAccess, Readable, WalkLimits
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.selection import Chosen, SkippedFiles

CACHE_SCHEMA = 4  # 4: layer results carry file digests and links (SBOM scans)
MAX_REMEMBERED_NAMES = 65536  # distinct file names whose analyzers are remembered
# declared names, declared suffixes, and the (analyzer, cap) pairs that declare neither
_NameIndex = tuple[frozenset[str], tuple[str, ...], tuple[tuple[Analyzer, int], ...]]


def _wanted_scanners(options: ScanOptions) -> set[Scanner]:
    wanted = set(options.scanners)
    if Scanner.VULN in wanted:
        wanted.add(Scanner.PKG)  # matching needs the package list
    return wanted


def _fingerprint(path: Path | None) -> str:
    """A digest of a rules file or directory, so edited rules invalidate the cache."""
    if path is None:
        return ""
    import hashlib

    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file).encode())
        try:
            digest.update(file.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


class AnalyzerGroup(msgspec.Struct, frozen=True):
    """Analyzers for one scan; `select` decides per file, `analyze` merges their results.

    The analyzers are instantiated on first use: a scan served from the cache needs only
    the cache salt, not the compiled secret rules or checks.
    """

    classes: tuple[type[Analyzer], ...]
    analyzer_options: AnalyzerOptions
    limits: WalkLimits
    salt: str  # what the cache key depends on besides the layer (`cache_salt`)
    caps: tuple[int, ...]  # per analyzer: the largest file it reads
    config_classes: tuple[type[ImageConfigAnalyzer], ...] = ()
    caps_floor: int = 0  # the smallest of `caps`: files within it need no size check
    digests: bool = False  # hash every regular file met (SBOMs: `digests.py`)
    _built: list[tuple[tuple[Analyzer, int], ...]] = msgspec.field(default_factory=list)
    _built_config: list[tuple[ImageConfigAnalyzer, ...]] = msgspec.field(default_factory=list)
    # per file name: the analyzers that may want a file so named (see `_may_want`)
    _by_name: dict[str, tuple[tuple[Analyzer, int], ...]] = msgspec.field(default_factory=dict)
    _index: list[_NameIndex] = msgspec.field(default_factory=list)
    # the last directory met and the undeclaring analyzers that want files in it
    _in_dir: list[tuple[str, tuple[tuple[Analyzer, int], ...]]] = msgspec.field(
        default_factory=list
    )

    @classmethod
    def build(cls, options: ScanOptions, tree: bool = False) -> AnalyzerGroup:
        """Choose the registered analyzers the options ask for; a `tree` (filesystem scan)
        reads lock files and does not count the project's own manifest as a package."""
        analyzer_options = AnalyzerOptions(
            yara_rules=options.yara_rules,
            secret_config=options.secret_config,
            lockfiles=options.lockfiles or tree,
            project_manifests=not tree,
            package_files=options.package_files,
            executables=options.executables,
        )
        wanted = _wanted_scanners(options)
        classes = tuple(
            cls_
            for _, cls_ in ANALYZERS.items()
            if (cls_.by_option or cls_.scanner in wanted) and cls_.enabled(analyzer_options)
        )
        caps = tuple(c.max_size or options.max_file_size for c in classes)
        config_classes = tuple(
            cls_
            for _, cls_ in CONFIG_ANALYZERS.items()
            if cls_.scanner in wanted and cls_.enabled(analyzer_options)
        )
        limits = WalkLimits(
            max_file_size=max(caps, default=options.max_file_size),
            max_layer_size=options.max_layer_size,
            skip_dirs=tuple(d.strip("/") for d in options.skip_dirs if d.strip("/")),
        )
        salt = "|".join(
            [
                f"schema={CACHE_SCHEMA}",
                *sorted(f"{c.id}@{c.version}" for c in classes),
                f"lockfiles={analyzer_options.lockfiles}",
                f"projects={analyzer_options.project_manifests}",
                f"limits={options.max_file_size},{','.join(limits.skip_dirs)}",
                f"secrets={_fingerprint(options.secret_config)}",
                f"yara={_fingerprint(options.yara_rules)}",
                f"digests={options.package_files}",
            ]
        )
        return cls(
            classes,
            analyzer_options,
            limits,
            salt,
            caps,
            config_classes,
            min(caps, default=0),
            options.package_files,
        )

    def _capped(self) -> tuple[tuple[Analyzer, int], ...]:
        if not self._built:
            analyzers = (c(self.analyzer_options) for c in self.classes)
            self._built.append(tuple(zip(analyzers, self.caps, strict=True)))
        return self._built[0]

    def declared_names(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The file names and name endings some analyzer declares it picks files by."""
        names, suffixes, _ = self._name_index()
        return names, suffixes

    def _name_index(self) -> _NameIndex:
        """Every declared file name, every declared suffix, and the analyzers declaring
        neither (those that look at more than names)."""
        if not self._index:
            capped = self._capped()
            names = frozenset(n for a, _ in capped for n in a.file_names)
            suffixes = tuple(dict.fromkeys(s for a, _ in capped for s in a.file_suffixes))
            general = tuple(
                (a, cap) for a, cap in capped if not a.file_names and not a.file_suffixes
            )
            self._index.append((names, suffixes, general))
        return self._index[0]

    @property
    def analyzers(self) -> tuple[Analyzer, ...]:
        """The analyzer instances (built on first use)."""
        return tuple(a for a, _ in self._capped())

    def _candidates(self, path: str) -> tuple[tuple[Analyzer, int], ...]:
        """The analyzers (with their caps, in registry order) the file at `path` may
        interest; remembered per declared name, as those recur (package.json, METADATA),
        and per directory for the others (asked for every file a walk meets: kept flat)."""
        cut = path.rfind("/")
        name = path[cut + 1 :]
        found = self._by_name.get(name)
        if found is not None:
            return found
        names, suffixes, general = self._index[0] if self._index else self._name_index()
        if name in names or name.endswith(suffixes):
            return self._declared(name)
        # most names (of a node_modules tree, say) are met once; their directory is the
        # previous file's nearly always
        rel_dir = path[:cut] if cut >= 0 else ""
        last = self._in_dir
        if last and last[0][0] == rel_dir:
            return last[0][1]
        return self._general_in(rel_dir, general)

    def _declared(self, name: str) -> tuple[tuple[Analyzer, int], ...]:
        """The analyzers that may want a file called `name` (a declared one), remembered."""
        found = tuple((a, cap) for a, cap in self._capped() if _may_want(a, name))
        if len(self._by_name) >= MAX_REMEMBERED_NAMES:
            self._by_name.clear()
        self._by_name[name] = found
        return found

    def _general_in(
        self, rel_dir: str, general: tuple[tuple[Analyzer, int], ...]
    ) -> tuple[tuple[Analyzer, int], ...]:
        """Those of the `general` analyzers that may want files in `rel_dir`; asked once
        per directory, as a walk meets a directory's files one after the other."""
        last = self._in_dir
        if last and last[0][0] == rel_dir:
            return last[0][1]
        found = tuple((a, cap) for a, cap in general if a.wants_files_in(rel_dir))
        last[:] = [(rel_dir, found)]
        return found

    def select(self, info: FileInfo) -> Chosen | None:
        """The analyzers that want this file and how they read it, or None."""
        capped = self._candidates(info.path)
        if not capped:
            return None
        size = info.size
        if size <= self.caps_floor:  # nearly every file: within every limit
            if len(capped) == 1:  # most files: one analyzer (a Go binary's, say) to ask
                return Chosen((capped[0][0],)) if capped[0][0].required(info) else None
            whole = [a for a, _ in capped if a.required(info)]
            return Chosen(tuple(whole)) if whole else None
        wanting = [(a, cap) for a, cap in capped if a.required(info)]
        if not wanting:
            return None
        return Chosen(
            whole=tuple(a for a, cap in wanting if size <= cap),
            streamed=tuple(a for a, cap in wanting if size > cap and a.streams),
            too_large=tuple(a for a, cap in wanting if size > cap and not a.streams),
        )

    def select_seekable(self, info: FileInfo) -> Chosen | None:
        """`select` for a file on disk: analyzers that `seek` get the open file instead of
        its content (a Go binary's build info, a jar's central directory, are found
        without reading the whole file)."""
        chosen = self.select(info)
        if chosen is None or not any(a.seeks for a in chosen.whole):
            return chosen
        return Chosen(
            whole=tuple(a for a in chosen.whole if not a.seeks),
            streamed=(*chosen.streamed, *(a for a in chosen.whole if a.seeks)),
            too_large=chosen.too_large,
        )

    def selector(self, seekable: bool = False) -> Callable[[FileInfo], Chosen | None]:
        """What a walk asks about each file: `select` (or `select_seekable` on disk), and
        in a scan that hashes files every regular file, analyzed or not, to be hashed."""
        select = self.select_seekable if seekable else self.select
        if not self.digests:
            return select

        def select_and_digest(info: FileInfo) -> Chosen:
            chosen = select(info)
            return _DIGEST_ONLY if chosen is None else msgspec.structs.replace(chosen, digest=True)

        return select_and_digest

    def cap_of(self, analyzer: Analyzer) -> int:
        """The largest file `analyzer` reads whole in this scan."""
        return next(cap for a, cap in self._capped() if a is analyzer)

    def analyze(
        self,
        info: FileInfo,
        chosen: Chosen,
        content: bytes | Readable,
        warnings: list[str],
        skipped: SkippedFiles,
    ) -> FileAnalysis | None:
        """The merged results of the chosen analyzers for one file; skips go to `warnings`
        and `skipped`. `content` is bytes, or a stream when no analyzer reads it whole."""
        for analyzer in chosen.too_large:
            skipped.add(analyzer, self.cap_of(analyzer), info)
        merged: FileAnalysis | None = None
        for index, analyzer in enumerate((*chosen.whole, *chosen.streamed)):
            try:
                result = _run(analyzer, info, content, index)
            except RecursionError:  # a hostile file (JSON/YAML nested thousands deep)
                warnings.append(f"{info.path}: skipped by analyzer {analyzer.id}: nested too deep")
                continue
            except SkippedFile as e:
                warnings.append(f"{info.path}: skipped by analyzer {analyzer.id}: {e}")
                continue
            if result is None:
                continue
            if result.warnings:  # reported once, by the walk, not kept with the file's results
                warnings.extend(result.warnings)
                result.warnings = []
            if merged is None:
                merged = result
            else:
                merged.merge(result)
        return merged

    @property
    def cache_salt(self) -> str:
        """The digest of `salt`; hashed when a cache asks (hashlib loads OpenSSL)."""
        import hashlib

        return hashlib.sha256(self.salt.encode()).hexdigest()

    def cache_key(self, diff_id: str) -> str:
        """The cache key of a layer's results under this group."""
        import hashlib

        return hashlib.sha256(f"{diff_id}|{self.cache_salt}".encode()).hexdigest()

    def config_analyzers(self) -> tuple[ImageConfigAnalyzer, ...]:
        """The image-config analyzer instances (built on first use)."""
        if not self._built_config:
            self._built_config.append(tuple(c(self.analyzer_options) for c in self.config_classes))
        return self._built_config[0]

    def config_cache_key(self, image: str) -> str:
        """The cache key of an image config's findings (`image`: its digests) under this group."""
        import hashlib

        ids = ",".join(sorted(f"{c.id}@{c.version}" for c in self.config_classes))
        return hashlib.sha256(f"{image}|{ids}|{self.cache_salt}".encode()).hexdigest()


_DIGEST_ONLY = Chosen((), digest=True)  # streamed to the hashers, no analyzer reads it


def _may_want(analyzer: Analyzer, name: str) -> bool:
    """False when the analyzer's declared names rule out a file called `name`."""
    if not analyzer.file_names and not analyzer.file_suffixes:
        return True  # it looks at more than names (size, mode, directories)
    return name in analyzer.file_names or name.endswith(analyzer.file_suffixes)


def _run(
    analyzer: Analyzer, info: FileInfo, content: bytes | Readable, index: int
) -> FileAnalysis | None:
    """One analyzer's results: from bytes, else from the stream (rewound for a later one)."""
    if isinstance(content, bytes):
        return analyzer.analyze(info, content)
    if isinstance(content, RandomAccess):
        content.seek(0)
    elif index:  # a forward stream is read once; only one analyzer streams today
        return None
    return analyzer.analyze_stream(info, content)
