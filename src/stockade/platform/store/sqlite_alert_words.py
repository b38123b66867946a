"""How a page of alerts finds the ones whose words (and tags) match, on SQLite's FTS5 table.

The cheapest way depends on how many alerts match, so they are counted first (up to
READ_AT_MOST), and a word's share of the newest SAMPLE alerts tells whether it is common:
- few: read those rows by id, then order them (each costs a row read and a sort);
- some: read the matching ids once into a list, then walk the page's sort index looking each
  entry up in it (no row read: a fraction of a microsecond an entry);
- common: walk the sort index asking FTS5 about each row (tens of microseconds a row, but
  a page fills within a few rows, where listing every match reads a doclist of most ids).
A common word may still be rare early in the page's order (a word of one rule, ordered by
rule): that walk has a short budget, after which the page lists the matches instead.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from stockade.platform.store.sql import Connection

# up to this many matches, reading their rows and sorting them beats walking the order
FEW_MATCHES = 2_000
# from this share of alerts on (of the newest SAMPLE), testing rows in order beats listing
COMMON_SHARE = 0.2
SAMPLE = 5_000
# a listed walk may take a quarter of the VM steps' time that reading and sorting its
# matches would take (~200 steps' time a row): many times what it needs when the matches
# are spread through the order; past READ_AT_MOST matches, reading costs more than any walk
STEPS_PER_ROW_READ = 50
READ_AT_MOST = 30_000
_WORD = re.compile(r"\w", re.UNICODE)
_MATCHES = "SELECT rowid FROM alerts_text WHERE alerts_text MATCH ?"


class WordPlan(enum.Enum):
    """How a page applies a text match (see the module's docstring)."""

    READ = "read"  # few: the matching rows read by id and sorted
    LISTED = "listed"  # some: the ids listed once, looked up while walking the order
    TESTED = "tested"  # common: each row of the walk tested by FTS5


def text_match(text: str, tags: tuple[str, ...] = ()) -> str:
    """An FTS5 query: every word of `text` (`word*`: any word it begins), every tag in tags.

    Whole words by default: a prefix costs a walk over every word it begins at each test.
    """
    spaced = text.replace("\x00", " ")  # FTS5 reads a query only up to its first NUL
    words = [w for w in spaced.split() if _WORD.search(w)]
    terms = [_quoted(w[:-1]) + "*" if w.endswith("*") else _quoted(w) for w in words]
    terms += [f"tags : {_quoted(t)}" for t in tags if _WORD.search(t)]
    return " AND ".join(terms)


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class Words:
    """A text match's plan, and how many alerts it matches (counted up to a cap)."""

    plan: WordPlan
    matches: int


def word_plan(conn: Connection, match: str) -> Words:
    """The cheapest plan for `match`: counted up to READ_AT_MOST, and its share of the newest
    SAMPLE alerts (counting every match of a common word would read a long doclist)."""
    # two subqueries: each reads one end of the key, where min(id), max(id) reads it all
    low, high = conn.execute(
        "SELECT (SELECT min(id) FROM alerts), (SELECT max(id) FROM alerts)"
    ).fetchone()
    counted = conn.execute(
        f"SELECT count(*) FROM ({_MATCHES} LIMIT ?)", (match, READ_AT_MOST)
    ).fetchone()[0]
    if counted < FEW_MATCHES:
        return Words(WordPlan.READ, counted)
    newest = conn.execute(
        "SELECT count(*) FROM alerts_text WHERE alerts_text MATCH ? AND rowid > ?",
        (match, high - SAMPLE),
    ).fetchone()[0]
    if newest >= min(SAMPLE, high - low + 1) * COMMON_SHARE:
        return Words(WordPlan.TESTED, counted)
    return Words(WordPlan.LISTED, counted)


def walk_steps(words: Words) -> int:
    """SQLite VM steps a listed walk may take before reading the matches instead is quicker
    (0: always walk on): the walk ends early unless the matches come late in its order."""
    return words.matches * STEPS_PER_ROW_READ if words.matches < READ_AT_MOST else 0


def match_term(plan: WordPlan, walk: bool) -> str:
    """The SQL condition (one parameter: the FTS5 query) that applies a match by `plan`."""
    if plan is WordPlan.TESTED:
        return "EXISTS (SELECT 1 FROM alerts_text t WHERE alerts_text MATCH ? AND t.rowid = a.id)"
    # `+`: the list is only looked up in; without it SQLite reads the rows by id and sorts
    plus = "" if plan is WordPlan.READ and not walk else "+"
    return f"{plus}a.id IN ({_MATCHES})"
