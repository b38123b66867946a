"""The storyline of an incident: the process tree from the container's entrypoint (or the
host's oldest known ancestor) down to the processes that alerted, with their execs,
connections and file writes in time order (pure: stored events in, a tree out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from stockade.detect.incidents import process_key
from stockade.model.events import Ancestor, Event

EXEC_TYPES = frozenset({"execve", "execveat"})
CONNECT_TYPES = frozenset({"connect", "accept", "accept4", "listen"})
OPEN_TYPES = frozenset({"open", "openat", "openat2"})
WRITE_TYPES = frozenset({"creat", "rename", "renameat", "renameat2", "unlink", "unlinkat"})
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000  # O_WRONLY, O_RDWR, O_CREAT, O_TRUNC
MAX_STEPS_PER_PROCESS = 200  # a busy process keeps its first steps, the count says the rest


@dataclass(frozen=True, slots=True)
class StoryEvent:
    """A stored event and the agent that sent it (its identity is (agent_id, seq))."""

    agent_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class Offender:
    """A process an alert of the incident came from."""

    pid: int
    start_ns: int  # 0 when the alert's event is not stored
    rule: str
    ts: int
    alert_uuid: str


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a process did: exec, connect, write, or an alert it raised."""

    ts: int
    kind: str  # exec | connect | write | alert
    summary: str
    agent_id: str = ""
    seq: int = 0  # the event's sequence (0 for an alert step)
    event: Event | None = None


@dataclass(slots=True)
class StoryNode:
    """One process of the tree."""

    key: str
    pid: int
    start_ns: int
    vpid: int = 0
    name: str = ""
    exepath: str = ""
    argv: tuple[str, ...] = ()
    parent: str = ""  # the parent's key; "" at a root
    in_scope: bool = False  # has events of its own in the incident's container (or host)
    offending: bool = False
    rules: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    steps_left_out: int = 0

    @property
    def cmdline(self) -> str:
        """Falco's proc.cmdline of its latest exec."""
        return " ".join((self.name, *self.argv[1:])) if self.argv else self.name


@dataclass(frozen=True, slots=True)
class Storyline:
    """The tree: its roots (top processes) and every node by key, parents before children."""

    roots: tuple[str, ...]
    nodes: tuple[StoryNode, ...]


class _Tree:
    """Processes by key, with pid lookups that tolerate an unknown start time."""

    def __init__(self) -> None:
        self.nodes: dict[str, StoryNode] = {}
        self._by_pid: dict[int, str] = {}

    def node(self, pid: int, start_ns: int) -> StoryNode:
        key = self._by_pid.get(pid)
        if key is not None:
            known = self.nodes[key]
            if not start_ns or not known.start_ns or known.start_ns == start_ns:
                known.start_ns = known.start_ns or start_ns
                return known
        key = process_key(pid, start_ns)
        found = self.nodes.setdefault(key, StoryNode(key=key, pid=pid, start_ns=start_ns))
        self._by_pid[pid] = key
        return found

    def add_event(self, event: Event) -> StoryNode:
        proc = event.proc
        node = self.node(proc.pid, proc.start_ns)
        node.vpid = proc.vpid or node.vpid
        if event.type in EXEC_TYPES or not node.name:
            node.name, node.exepath, node.argv = proc.name, proc.exepath, proc.argv
        child = node
        for ancestor in event.ancestors:
            parent = self._ancestor(ancestor)
            if parent is child or child.parent:
                break
            child.parent = parent.key
            child = parent
        return node

    def _ancestor(self, ancestor: Ancestor) -> StoryNode:
        node = self.node(ancestor.pid, ancestor.start_ns)
        if not node.name:
            node.name, node.exepath, node.argv = ancestor.name, ancestor.exepath, ancestor.argv
            node.vpid = ancestor.vpid
        return node


def _step(stored: StoryEvent) -> Step | None:
    """The step an event is in a storyline, or None for what a storyline leaves out."""
    e = stored.event
    if e.res < 0 and e.type not in EXEC_TYPES:
        return None
    kind, summary = "", ""
    if e.type in EXEC_TYPES:
        kind, summary = "exec", " ".join(e.proc.argv) or e.proc.exepath
    elif e.type in CONNECT_TYPES and e.fd is not None and e.fd.name:
        kind, summary = "connect", f"{e.type} {e.fd.name}"
    elif e.type in OPEN_TYPES and e.fd is not None and e.fd.flags & _WRITE_FLAGS:
        kind, summary = "write", f"{e.type} {e.fd.name}"
    elif e.type in WRITE_TYPES:
        target = e.fd.name if e.fd is not None and e.fd.name else _path_arg(e)
        kind, summary = "write", f"{e.type} {target}".strip()
    if not kind:
        return None
    return Step(e.ts, kind, summary, stored.agent_id, e.seq, e)


def _path_arg(event: Event) -> str:
    for name in ("newpath", "name", "path", "pathname", "target"):
        value = event.args.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def build_storyline(
    events: Iterable[StoryEvent], offenders: Iterable[Offender], on_host: bool = False
) -> Storyline:
    """The process tree of `events` cut to the paths from the top down to the offenders,
    with everything below the offenders; the tops are the in-scope processes whose parent
    is out of scope (a container's entrypoint, the sessions `exec` started in it), or the
    oldest known ancestor.

    In a container, an ancestor inside a pid namespace (vpid != pid) belongs to the
    container of its descendants; `on_host`, every known ancestor is in scope.
    """
    tree = _Tree()
    for stored in sorted(events, key=lambda s: (s.event.ts, s.event.seq)):
        node = tree.add_event(stored.event)
        node.in_scope = True
        step = _step(stored)
        if step is not None:
            _append(node, step)
    for offender in offenders:
        node = tree.node(offender.pid, offender.start_ns)
        node.offending = True
        node.in_scope = True
        if offender.rule not in node.rules:
            node.rules.append(offender.rule)
        _append(node, Step(offender.ts, "alert", offender.rule))
    for node in tree.nodes.values():
        node.in_scope = node.in_scope or on_host
        node.steps.sort(key=lambda s: s.ts)  # stable: an alert follows the exec it came from
    _widen_scope(tree.nodes)
    kept = _kept(tree.nodes)
    for node in kept.values():
        if node.parent not in kept:
            node.parent = ""
    ordered = _parents_first(kept)
    return Storyline(tuple(n.key for n in ordered if not n.parent), tuple(ordered))


def _append(node: StoryNode, step: Step) -> None:
    if len(node.steps) >= MAX_STEPS_PER_PROCESS and step.kind != "alert":
        node.steps_left_out += 1
        return
    node.steps.append(step)


def _widen_scope(nodes: dict[str, StoryNode]) -> None:
    """Ancestors of in-scope processes inside the same pid namespace are in scope too."""
    for node in list(nodes.values()):
        if not node.in_scope:
            continue
        current = nodes.get(node.parent)
        for _ in range(len(nodes)):  # bounded: bad data may loop
            if current is None or current.in_scope:
                break
            if not current.vpid or current.vpid == current.pid:
                break
            current.in_scope = True
            current = nodes.get(current.parent)


def _kept(nodes: dict[str, StoryNode]) -> dict[str, StoryNode]:
    """In-scope nodes on a path from a top down to an offender, and the offenders' own
    descendants; every in-scope node when no offender is known."""
    scoped = {k: n for k, n in nodes.items() if n.in_scope}
    offenders = {k for k, n in scoped.items() if n.offending}
    if not offenders:
        return scoped
    offenders |= _repeats(scoped)
    kept: set[str] = set()
    for node in scoped.values():
        path = _upwards(node, scoped)
        for i, key in enumerate(path):
            if key in offenders:  # the node is an offender or below one
                kept.update(path[: i + 1])
                break
    for key in offenders:
        kept.update(_upwards(scoped[key], scoped))  # the path up to its top
    return {k: scoped[k] for k in scoped if k in kept}


def _repeats(scoped: dict[str, StoryNode]) -> set[str]:
    """Processes that ran what an offender ran before it alerted: the agent sends the
    repeats of an alert later, as one counted alert, so their own alerts may be missing."""
    alerted: set[tuple[str, ...]] = set()
    for node in scoped.values():
        if node.offending:
            alerted |= {s.event.proc.argv for s in _execs_before_alert(node) if s.event}
    return {
        key
        for key, node in scoped.items()
        if any(s.event and s.event.proc.argv in alerted for s in _execs_before_alert(node))
    }


def _execs_before_alert(node: StoryNode) -> list[Step]:
    execs: list[Step] = []
    for step in node.steps:
        if step.kind == "alert":
            break
        if step.kind == "exec":
            execs.append(step)
    return execs


def _upwards(node: StoryNode, scoped: dict[str, StoryNode]) -> list[str]:
    """Keys from `node` up through its in-scope ancestors (bounded: bad data may loop)."""
    path: list[str] = []
    current: StoryNode | None = node
    while current is not None and len(path) <= len(scoped) and current.key not in path:
        path.append(current.key)
        current = scoped.get(current.parent)
    return path


def _parents_first(nodes: dict[str, StoryNode]) -> list[StoryNode]:
    children: dict[str, list[StoryNode]] = {}
    for node in nodes.values():
        children.setdefault(node.parent, []).append(node)
    ordered: list[StoryNode] = []
    stack = sorted(children.get("", []), key=_first_ts, reverse=True)
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack += sorted(children.get(node.key, []), key=_first_ts, reverse=True)
    return ordered


def _first_ts(node: StoryNode) -> tuple[int, int]:
    return (node.steps[0].ts if node.steps else node.start_ns, node.pid)
