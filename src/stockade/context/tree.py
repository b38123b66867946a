"""The process tree cache: who is who, and whose child, from a /proc snapshot plus events.

Entries are keyed by pid but checked against the start time, so a reused pid never
inherits the identity or ancestry of the process that had it before. Exited processes
stay a while in a bounded "dead" table so their children still find their ancestors.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import msgspec

from stockade.model import Ancestor, Event, Process

EXEC_TYPES = frozenset({"execve", "execveat"})
CLONE_TYPES = frozenset({"clone", "clone3", "fork", "vfork"})


_CACHE_MAX = 65_536
_MEMO_PER_PROCESS = 64  # sensor objects (threads, identities) merged with one known process
_Answer = tuple[Process, tuple[Ancestor, ...]]
# id(parent) -> (parent, the ancestors of a child of it, the pids its walk looked up)
_Chain = tuple[Process, tuple[Ancestor, ...], tuple[int, ...]]
# id(proc) -> (proc, (proc, ancestors), id of the parent whose chain it used, that chain)
_View = tuple[Process, _Answer, int, "_Chain | None"]


def _same(process: Process, start_ns: int) -> bool:
    return not start_ns or not process.start_ns or process.start_ns == start_ns


_IMAGE_FIELDS: tuple[str, ...] = (
    "exepath", "argv", "cwd", "env", "user", "homedir", "shell", "group", "loginname", "sid",
    "vpgid",
    "exe_upper_layer", "exe_from_memfd", "exe_writable", "exe_ino", "exe_ino_ctime",
    "exe_ino_mtime", "snapshot",
)  # fmt: skip


_image_of = operator.attrgetter(*_IMAGE_FIELDS)
# every other field: who the process is, as a sensor reports it with each event
_IDENTITY_FIELDS: tuple[str, ...] = (
    "pid", "tid", "ppid", "vpid", "name", "uid", "gid", "euid", "egid", "loginuid", "tty",
    "start_ns", "cap_effective", "cap_permitted", "cap_inheritable", "cgroup_id",
)  # fmt: skip


# The two checks below name each field (a test holds them to the tuples above): attribute
# reads written out run several times faster than an attrgetter over a Struct.
def _has_image(p: Process) -> bool:
    """Whether any image field is set."""
    return bool(
        p.exepath or p.argv or p.cwd or p.env or p.user or p.homedir or p.shell or p.group
        or p.loginname or p.sid
        or p.vpgid or p.exe_upper_layer or p.exe_from_memfd or p.exe_writable or p.exe_ino
        or p.exe_ino_ctime or p.exe_ino_mtime or p.snapshot
    )  # fmt: skip


def _same_identity(a: Process, b: Process) -> bool:
    """Whether every identity field is equal."""
    return (
        a.pid == b.pid and a.tid == b.tid and a.ppid == b.ppid and a.vpid == b.vpid
        and a.name == b.name and a.uid == b.uid and a.gid == b.gid and a.euid == b.euid
        and a.egid == b.egid and a.loginuid == b.loginuid and a.tty == b.tty
        and a.start_ns == b.start_ns and a.cap_effective == b.cap_effective
        and a.cap_permitted == b.cap_permitted and a.cap_inheritable == b.cap_inheritable
        and a.cgroup_id == b.cgroup_id
    )  # fmt: skip


def _image(known: Process) -> dict[str, Any]:
    """The image fields a process has (what it lends a child or an imageless event)."""
    return {f: t for f, t in zip(_IMAGE_FIELDS, _image_of(known), strict=True) if t}


class ProcessTree:
    """Live processes by pid, updated from clone/execve/procexit events."""

    # 1024 dead keep ~25 s of exits at 40 a second (200 containers each exec'ing every 5 s):
    # far more than the pipeline lags behind the sensor, which is all a late event or a
    # child's parent lookup needs; 4096 held ~16 MB of exited processes' details.
    def __init__(self, max_ancestors: int = 8, max_dead: int = 1024) -> None:
        self._live: dict[int, Process] = {}
        self._dead: OrderedDict[int, Process] = OrderedDict()
        self._max_ancestors = max_ancestors
        self._max_dead = max_dead
        # per known Process object: it, and per sensor Process object (it, merged)
        self._memo: dict[int, tuple[Process, dict[int, tuple[Process, Process]]]] = {}
        self.generation = 0  # bumped whenever an answer the tree gave may have changed
        self._views: dict[int, _View] = {}
        self._summaries: dict[int, tuple[Process, Ancestor]] = {}
        self._chains: dict[int, _Chain] = {}
        self._images: dict[int, tuple[Process, dict[str, Any]]] = {}
        # pid -> the cached views and chains that read its table entry: dropped when it changes
        self._readers: dict[int, list[tuple[dict[int, Any], int]]] = {}
        self._reads = 0

    def __len__(self) -> int:
        return len(self._live)

    def seed(self, processes: Iterable[Process]) -> None:
        """Load a /proc snapshot (see `stockade.sensor.procfs.scan`)."""
        self._forget_all()
        for process in processes:
            self._live[process.pid] = process

    def resync(self, processes: Iterable[Process]) -> None:
        """Replace the live table with a fresh /proc snapshot (after the sensor lost events)."""
        self._forget_all()
        fresh = {p.pid: p for p in processes}
        for pid, gone in self._live.items():
            if pid not in fresh:
                self._dead[pid] = gone
        while len(self._dead) > self._max_dead:
            self._release(self._dead.popitem(last=False)[1])
        self._live = fresh

    def get(self, pid: int, start_ns: int = 0) -> Process | None:
        """The live process with this pid (and start time, when given)."""
        found = self._live.get(pid)
        return found if found is not None and _same(found, start_ns) else None

    def apply(self, event: Event) -> Event:
        """Update the tree from `event`; return it with `proc` and `ancestors` filled."""
        proc, ancestors = self.update(event.type, event.proc)
        return msgspec.structs.replace(event, proc=proc, ancestors=ancestors)

    def update(self, event_type: str, proc: Process) -> tuple[Process, tuple[Ancestor, ...]]:
        """`apply` without the copy of the event: the (proc, ancestors) it would fill."""
        if event_type in CLONE_TYPES:
            proc = self._on_clone(proc)
        elif event_type in EXEC_TYPES:
            proc = self._on_exec(proc)
        elif event_type != "procexit":
            return self.view(proc)
        else:
            proc = self._known(proc)
            ancestors = self._walk(proc)[0]
            self._on_exit(proc)
            return proc, ancestors
        return proc, self._walk(proc)[0]

    def view(self, proc: Process) -> tuple[Process, tuple[Ancestor, ...]]:
        """What `apply` fills for an event that does not change the tree: (proc, ancestors).

        Cached per Process object (sensors reuse one per actor identity; treat them as
        read-only). A cached answer stands until a table entry it read changes (its own
        pid's, its parent's, or one its parent's kept chain read), so unrelated forks and
        exits do not discard it.
        """
        hit = self._views.get(id(proc))
        if hit is not None and hit[0] is proc:
            chain = hit[3]
            if chain is None or self._chains.get(hit[2]) is chain:
                return hit[1]
        merged = self._known(proc)
        ancestors, chain = self._walk(merged)
        answer = (merged, ancestors)
        if len(self._views) >= _CACHE_MAX:
            self._forget_all()
        key = id(proc)
        self._views[key] = (proc, answer, id(chain[0]) if chain else 0, chain)
        self._watch(self._views, key, (proc.pid, merged.ppid))
        return answer

    def ancestors(self, proc: Process) -> tuple[Ancestor, ...]:
        """Parent first, up to `max_ancestors`; stops where a pid was reused."""
        return self._walk(proc)[0]

    def _walk(self, proc: Process) -> tuple[tuple[Ancestor, ...], _Chain | None]:
        """The ancestors, and the parent's kept chain they came from (None if none).

        The first step is taken here; the rest is the parent's own walk, kept per parent
        object until a table entry that walk read changes.
        """
        ppid = proc.ppid
        if ppid <= 0 or self._max_ancestors <= 0:
            return (), None
        parent = self._live.get(ppid) or self._dead.get(ppid)
        if parent is None or parent.pid == proc.pid:
            return (), None
        if parent.start_ns and proc.start_ns and parent.start_ns > proc.start_ns:
            return (), None  # that pid now belongs to a younger process
        chain = self._chains.get(id(parent))
        if chain is None or chain[0] is not parent:
            up, pids = self._walk_from(parent)
            below = (self._summary(parent), *up[: self._max_ancestors - 1])
            chain = (parent, below, pids)
            if len(self._chains) >= _CACHE_MAX:
                self._forget_all()
            self._chains[id(parent)] = chain  # holding it keeps its id unique
            self._watch(self._chains, id(parent), pids)
        return chain[1], chain

    def _walk_from(self, proc: Process) -> tuple[tuple[Ancestor, ...], tuple[int, ...]]:
        found: list[Ancestor] = []
        pids: list[int] = []
        live, dead, summaries = self._live, self._dead, self._summaries
        current, left = proc, self._max_ancestors
        while left > 0 and (ppid := current.ppid) > 0:
            parent = live.get(ppid) or dead.get(ppid)
            pids.append(ppid)
            if parent is None or parent.pid == current.pid:
                break
            if parent.start_ns and current.start_ns and parent.start_ns > current.start_ns:
                break  # that pid now belongs to a younger process
            hit = summaries.get(id(parent))
            found.append(hit[1] if hit is not None and hit[0] is parent else self._summary(parent))
            current, left = parent, left - 1
        return tuple(found), tuple(pids)

    def _watch(self, table: dict[int, Any], key: int, pids: Iterable[int]) -> None:
        """Drop `table[key]` when the table entry of any of `pids` changes."""
        readers = self._readers
        for pid in pids:
            found = readers.get(pid)
            if found is None:
                readers[pid] = [(table, key)]
            else:
                found.append((table, key))
            self._reads += 1
        if self._reads >= 4 * _CACHE_MAX:
            self._forget_all()

    def _changed(self, pid: int) -> None:
        """The table entry of `pid` changed: drop what was cached from it.

        `generation` moves only when something read that entry: an answer given from the
        tree (and cached by its user) cannot change otherwise.
        """
        readers = self._readers.pop(pid, None)
        if readers is not None:
            self.generation += 1
            for table, key in readers:
                table.pop(key, None)

    def _forget_all(self) -> None:
        self.generation += 1  # what was read is no longer tracked: every answer may change
        self._views.clear()
        self._chains.clear()
        self._readers.clear()
        self._reads = 0

    def _summary(self, parent: Process) -> Ancestor:
        """The Ancestor of a process object, built once per object."""
        hit = self._summaries.get(id(parent))
        if hit is not None and hit[0] is parent:
            return hit[1]
        summary = Ancestor(
            pid=parent.pid,
            name=parent.name,
            exepath=parent.exepath,
            argv=parent.argv,
            start_ns=parent.start_ns,
            vpid=parent.vpid,
            env=parent.env,
        )
        if len(self._summaries) >= _CACHE_MAX:
            self._summaries.clear()
        self._summaries[id(parent)] = (parent, summary)  # holding it keeps its id unique
        return summary

    def _with_image(self, proc: Process, known: Process) -> Process:
        """An event from a sensor that reports who acted but not the image (eBPF): take the
        image (exe, argv, cwd ...) from the tree and keep the event's own identity."""
        if proc.exepath or proc.argv:
            return proc
        if _has_image(proc):  # only fields the tree knows and the event lacks
            mine, theirs = _image_of(proc), _image_of(known)
            image = {
                f: t for f, m, t in zip(_IMAGE_FIELDS, mine, theirs, strict=True) if t and not m
            }
        elif _same_identity(proc, known):
            return known  # the very process the tree knows: its record is the answer
        else:  # the usual case: the event has no image at all; the known one's, kept per object
            hit = self._images.get(id(known))
            if hit is None or hit[0] is not known:
                if len(self._images) >= _CACHE_MAX:
                    self._images.clear()
                hit = self._images[id(known)] = (known, _image(known))  # holding it keeps its id
            image = hit[1]
        return msgspec.structs.replace(proc, **image) if image else proc

    def _clone_parent(self, child: Process) -> Process | None:
        """The parent a new child copies: live, or just exited (a daemon's parent forks and
        exits at once, and the child's clone can be read after that exit)."""
        parent = self._live.get(child.ppid)
        if parent is None:
            parent = self._dead.get(child.ppid)
            if parent is not None and child.start_ns and parent.start_ns > child.start_ns:
                return None  # that pid's older holder was a different process
        return parent

    def _on_clone(self, child: Process) -> Process:
        parent = self._clone_parent(child)
        if parent is not None and not child.name:
            child = msgspec.structs.replace(
                parent,
                pid=child.pid,
                tid=child.tid or child.pid,
                ppid=child.ppid,
                vpid=child.vpid,
                start_ns=child.start_ns or parent.start_ns,
                cgroup_id=child.cgroup_id or parent.cgroup_id,
            )
        elif parent is not None:
            child = self._with_image(child, parent)
        self._replace(child)
        return child

    def _on_exec(self, proc: Process) -> Process:
        before = self.get(proc.pid, proc.start_ns)
        if before is not None:
            # The sensor may have missed what died too fast; keep what the tree knew.
            proc = msgspec.structs.replace(
                proc,
                ppid=proc.ppid or before.ppid,
                start_ns=proc.start_ns or before.start_ns,
                cgroup_id=proc.cgroup_id or before.cgroup_id,
                uid=proc.uid if proc.uid >= 0 else before.uid,
                # a name stands only for the uid it was looked up for (setuid, then exec)
                user=proc.user or (before.user if proc.euid == before.euid else ""),
                homedir=proc.homedir or (before.homedir if proc.euid == before.euid else ""),
                shell=proc.shell or (before.shell if proc.euid == before.euid else ""),
                cwd=proc.cwd or before.cwd,
                tty=proc.tty or (before.tty if not proc.name else 0),
            )
        self._replace(proc)
        return proc

    def _replace(self, proc: Process) -> None:
        """Make `proc` the live entry of its pid, releasing the object it replaces."""
        before = self._live.get(proc.pid)
        self._live[proc.pid] = proc
        self._changed(proc.pid)
        if before is not None and before is not proc:
            self._release(before)

    def _release(self, gone: Process, tables: Iterable[dict[int, Any]] = ()) -> None:
        """Drop what was cached per object for a Process that left the table (replaced, or
        dead past `max_dead`): these caches hold the object, and with it its /proc details,
        so they would otherwise keep every process of a busy host until they fill up."""
        for table in tables or (self._summaries, self._images, self._memo):
            hit = table.get(id(gone))
            if hit is not None and hit[0] is gone:
                del table[id(gone)]

    def _known(self, proc: Process) -> Process:
        known = self._live.get(proc.pid)
        if known is None or not _same(known, proc.start_ns):
            return proc
        if proc.name:
            return self._merged(proc, known)
        return msgspec.structs.replace(known, tid=proc.tid or known.tid)

    def _merged(self, proc: Process, known: Process) -> Process:
        """`_with_image`, memoized: a sensor reuses one Process per actor identity."""
        per_known = self._memo.get(id(known))
        if per_known is None or per_known[0] is not known:
            if len(self._memo) >= _CACHE_MAX:
                self._memo.clear()
            per_known = self._memo[id(known)] = (known, {})  # holding it keeps its id unique
        hit = per_known[1].get(id(proc))
        if hit is not None and hit[0] is proc:
            return hit[1]
        merged = self._with_image(proc, known)
        if len(per_known[1]) >= _MEMO_PER_PROCESS:
            per_known[1].clear()
        per_known[1][id(proc)] = (proc, merged)
        return merged

    def _on_exit(self, proc: Process) -> None:
        gone = self._live.pop(proc.pid, None)
        if gone is None:
            return
        self._dead[proc.pid] = gone
        self._dead.move_to_end(proc.pid)
        self._changed(proc.pid)
        # Merging with an event's process reads only live entries: what was kept for that
        # (the merged answers, the image) goes now, not when the dead table lets go of it.
        self._release(gone, (self._memo, self._images))
        while len(self._dead) > self._max_dead:
            pid, dead = self._dead.popitem(last=False)
            self._changed(pid)
            self._release(dead)
