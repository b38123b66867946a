"""Dotted configuration keys: which exist in the model, and setting one in a nested dict.

`-o` keys follow Falco's: `a.b=v` sets a nested key, `a[]=v` appends to a list and
`a[2]=v` replaces one item.
"""

from __future__ import annotations

import re
import types
from typing import Any, Union, get_args, get_origin

import msgspec

KEY_PART = re.compile(r"(?P<name>[A-Za-z_][\w-]*)(?P<index>\[\d*\])?")


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    """The Struct type an annotation names (also inside `X | None` or Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType) or hasattr(annotation, "__metadata__"):
        for arg in get_args(annotation):
            found = _struct_in(arg)
            if found is not None:
                return found
    return None


def _is_mapping(annotation: Any) -> bool:
    return get_origin(annotation) is dict


def unknown_key(model: type[msgspec.Struct], path: list[str]) -> str | None:
    """The first prefix of `path` the model does not have, dotted; None when all exist."""
    current: type[msgspec.Struct] | None = model
    for depth, name in enumerate(path):
        if current is None:
            return ".".join(path[: depth + 1])
        fields = {f.name: f.type for f in msgspec.structs.fields(current)}
        if name not in fields:
            return ".".join(path[: depth + 1])
        if _is_mapping(fields[name]):
            return None  # free-form (e.g. webhook headers)
        current = _struct_in(fields[name])
    return None


def unknown_keys(
    model: type[msgspec.Struct], data: dict[str, Any], prefix: list[str]
) -> str | None:
    """The first key in nested `data` the model does not have, dotted; None when all exist."""
    for name, value in data.items():
        path = [*prefix, str(name)]
        missing = unknown_key(model, path)
        if missing is not None:
            return missing
        if isinstance(value, dict) and not _is_free_form(model, path):
            deeper = unknown_keys(model, value, path)
            if deeper is not None:
                return deeper
    return None


def _is_free_form(model: type[msgspec.Struct], path: list[str]) -> bool:
    current: Any = model
    for name in path:
        struct = _struct_in(current)
        if struct is None:
            return False
        current = {f.name: f.type for f in msgspec.structs.fields(struct)}[name]
    return _is_mapping(current)


def parse_key(key: str) -> list[tuple[str, str | None]]:
    """`a.b[]` -> [("a", None), ("b", "")]; ValueError for anything else."""
    parts = []
    for piece in key.split("."):
        match = KEY_PART.fullmatch(piece)
        if match is None:
            raise ValueError(f"bad key {key!r}")
        index = match["index"]
        parts.append((match["name"], index[1:-1] if index else None))
    return parts


def set_key(data: dict[str, Any], parts: list[tuple[str, str | None]], value: Any) -> None:
    """Set the value `parts` names in nested `data`, creating dicts and lists on the way."""
    *parents, (last, index) = parts
    for name, parent_index in parents:
        if parent_index is not None:
            raise ValueError(f"{name}[{parent_index}]: only the last part of a key may index")
        child = data.get(name)
        if not isinstance(child, dict):
            child = data[name] = {}
        data = child
    if index is None:
        data[last] = value
        return
    items = data.get(last)
    items = data[last] = list(items) if isinstance(items, list) else []
    if index == "":
        items.append(value)
    elif int(index) < len(items):
        items[int(index)] = value
    elif int(index) == len(items):
        items.append(value)
    else:
        raise ValueError(f"{last}[{index}]: the list has {len(items)} items")
