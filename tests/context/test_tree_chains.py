"""Ancestor chains kept per parent give what a walk of the tables gives, as the tree changes."""

from __future__ import annotations

import random

from stockade.context import ProcessTree
from stockade.model import Ancestor, Event, Process


def _walked(tree: ProcessTree, proc: Process, most: int) -> list[tuple[int, str, int]]:
    """The plain walk, one table lookup per step (what the tree did before it kept chains)."""
    found: list[tuple[int, str, int]] = []
    current = proc
    while len(found) < most and current.ppid > 0:
        parent = tree.get(current.ppid) or tree._dead.get(current.ppid)
        if parent is None or parent.pid == current.pid:
            break
        if parent.start_ns and current.start_ns and parent.start_ns > current.start_ns:
            break
        found.append((parent.pid, parent.name, parent.start_ns))
        current = parent
    return found


def _names(ancestors: tuple[Ancestor, ...]) -> list[tuple[int, str, int]]:
    return [(a.pid, a.name, a.start_ns) for a in ancestors]


def test_chains_match_the_plain_walk_through_forks_execs_and_exits() -> None:
    rng = random.Random(7)
    for most in (1, 3, 8):
        tree = ProcessTree(max_ancestors=most, max_dead=16)
        tree.seed([Process(pid=1, name="init", start_ns=1)])
        live, clock = [1], 1
        for _ in range(3000):
            clock += 1
            roll = rng.random()
            pid = rng.choice(live)
            if roll < 0.35:  # fork; pids come back, sometimes older than their children
                child = rng.randrange(2, 60)
                start = clock if rng.random() < 0.9 else 0
                proc = Process(pid=child, ppid=pid, name=f"p{child}", start_ns=start)
                event = tree.apply(Event(type="clone", ts=clock, proc=proc))
                live.append(child)
            elif roll < 0.5:
                proc = Process(pid=pid, ppid=0, name=f"x{clock}", argv=(f"x{clock}",))
                event = tree.apply(Event(type="execve", ts=clock, proc=proc))
            elif roll < 0.65 and pid != 1:  # the answer is from before the exit
                before = _walked(tree, tree.get(pid) or Process(pid=pid), most)
                event = tree.apply(Event(type="procexit", ts=clock, proc=Process(pid=pid)))
                assert _names(event.ancestors) == before
                live = [p for p in live if p != pid]
                continue
            else:
                actor = tree.get(pid) or Process(pid=pid)
                event = tree.apply(Event(type="openat", ts=clock, proc=actor))
            assert _names(event.ancestors) == _walked(tree, event.proc, most)
