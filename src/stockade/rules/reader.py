"""Reader stage: YAML rule files to raw items that remember their file, line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from stockade.rules.messages import LoadMessage, Origin
from stockade.yaml_marks import yaml_position


class _RulesLoader(yaml.SafeLoader):
    """SafeLoader that, like yaml-cpp, reads `=` and unknown `!tags` as plain strings."""


def _plain(_loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else ""
    return f"!{suffix}{value}"


_RulesLoader.add_constructor("tag:yaml.org,2002:value", lambda _l, node: str(node.value))
_RulesLoader.add_multi_constructor("!", _plain)
# Like yaml-cpp, keep plain scalars as text (`yes`, `1.10`, `0755` stay as written); the
# collector decodes booleans and numbers where a key calls for them.
_KEPT_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}
_RulesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in _KEPT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

ITEM_KINDS = ("rule", "macro", "list", "required_engine_version", "required_plugin_versions")


@dataclass(slots=True)
class RawItem:
    """One top-level item of a rules file, with where each of its values starts."""

    kind: str
    data: dict[str, Any]
    origin: Origin
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (line, column)
    styles: dict[str, str | None] = field(default_factory=dict)  # key -> YAML scalar style

    @property
    def name(self) -> str:
        """The item's name (for rules, macros and lists)."""
        value = self.data.get(self.kind)
        return value if isinstance(value, str) else ""


@dataclass(slots=True)
class ReadResult:
    """Items of one file, plus the errors and warnings met while reading it."""

    items: list[RawItem] = field(default_factory=list)
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)


def _describe(kind: str, data: dict[str, Any]) -> str:
    name = data.get(kind)
    return f"{kind} '{name}'" if isinstance(name, str) else kind


def read_rules(text: str, file: str) -> ReadResult:
    """Parse rules YAML into raw items; never raises on bad content."""
    result = ReadResult()
    loader: _RulesLoader | None = None
    try:
        loader = _RulesLoader(text)  # refuses control characters here already
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _read_document(loader, node, file, result)
    except yaml.YAMLError as e:
        line, col = yaml_position(e) or (1, 1)
        result.errors.append(
            LoadMessage("LOAD_ERR_YAML_PARSE", f"yaml-cpp: {e}", file, line, col, "")
        )
        result.items.clear()
    finally:
        if loader is not None:
            loader.dispose()
    return result


def _read_document(loader: yaml.SafeLoader, node: yaml.Node, file: str, result: ReadResult) -> None:
    start = Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return
    if not isinstance(node, yaml.SequenceNode):
        result.errors.append(
            start.message("LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml array of objects")
        )
        return
    for child in node.value:
        origin = Origin(file, child.start_mark.line + 1, child.start_mark.column + 1)
        if not isinstance(child, yaml.MappingNode):
            result.errors.append(
                origin.message(
                    "LOAD_ERR_YAML_VALIDATE",
                    "Unexpected element type. Each element should be a yaml associative array.",
                )
            )
            continue
        data = loader.construct_object(child, deep=True)
        if not isinstance(data, dict):
            continue
        marks: dict[str, tuple[int, int]] = {}
        styles: dict[str, str | None] = {}
        for key_node, value_node in child.value:
            marks[str(key_node.value)] = (
                value_node.start_mark.line + 1,
                value_node.start_mark.column + 1,
            )
            styles[str(key_node.value)] = getattr(value_node, "style", None)
        kind = next((k for k in ITEM_KINDS if k in data), "")
        origin = Origin(file, origin.line, origin.column, _describe(kind, data) if kind else "")
        if not kind:
            result.warnings.append(origin.message("LOAD_UNKNOWN_ITEM", "Unknown top level item"))
            continue
        result.items.append(RawItem(kind, data, origin, marks, styles))
