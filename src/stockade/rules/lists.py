"""Lists as Falco resolves them: one level of list-in-list expansion, then textual
substitution of list names in condition text before parsing.

Falco substitutes a list name wherever it stands as a whole word (delimited by blanks,
parentheses, commas or `=`), in definition order; items holding a space are quoted.
"""

from __future__ import annotations

from stockade.rules.collector import Collector

_BLANKS = " \t\n\r"
_DELIMS = _BLANKS + "(),="


def quote_item(item: str) -> str:
    """Quote an item holding a space unless it is quoted already (Falco's quote_item)."""
    if " " in item and not item.startswith(('"', "'")):
        return f'"{item}"'
    return item


def compile_lists(c: Collector) -> tuple[dict[str, list[str]], set[str]]:
    """Each list with items naming an earlier-visible list replaced by that list's items."""
    compiled: dict[str, list[str]] = {}
    used: set[str] = set()
    for name, ldef in c.lists.items():
        items: list[str] = []
        for item in ldef.items:
            ref = c.lists.get(item)
            if ref is not None and ref.index < ldef.visibility:
                used.add(ref.name)
                items.extend(ref.items)
            else:
                items.append(item)
        compiled[name] = items
    return compiled, used


def resolve_list(condition: str, name: str, items: list[str]) -> tuple[str, bool]:
    """Substitute list `name` in `condition`; returns the new text and whether it was used."""
    text = condition
    used = False
    start = text.find(name)
    while start != -1:
        end = start + len(name)
        before_ok = start == 0 or text[start - 1] in _DELIMS
        after_ok = end >= len(text) or text[end] in _DELIMS
        if before_ok and after_ok:
            while start > 0 and text[start - 1] in _BLANKS:
                start -= 1
            while end < len(text) and text[end] in _BLANKS:
                end += 1
            sub = ", ".join(quote_item(v) for v in items)
            if not sub:
                if start > 0 and text[start - 1] == ",":
                    start -= 1
                elif end < len(text) and text[end] == ",":
                    end += 1
            prefix = text[:start] + " " if start > 0 else ""
            text = prefix + sub + " " + text[end:]
            start += len(sub) + 1
            used = True
        start = text.find(name, start + 1)
    return text, used


def resolve_lists(condition: str, lists: dict[str, list[str]], used: set[str]) -> str:
    """Substitute every list (in definition order); adds the names used to `used`."""
    for name, items in lists.items():
        if name in condition:
            condition, hit = resolve_list(condition, name, items)
            if hit:
                used.add(name)
    return condition
