"""Reading baseline policy YAML into `Policy` values; each mistake is one line, file:line:column.

The YAML is walked as nodes (not plain data) so each error can point at its place.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from stockade.baseline.errors import PolicyError
from stockade.baseline.model import Check, Condition, Policy, Test
from stockade.yaml_marks import yaml_problem, yaml_where

SUBJECTS = ("file", "sysctl", "command", "process", "files")
EXPECT_KEYS: dict[str, frozenset[str]] = {
    "file": frozenset(
        {
            "exists",
            "matches",
            "not_matches",
            "value",
            "equals",
            "in",
            "compare",
            "default",
            "mode_max",
            "owner",
            "group",
        }
    ),  # fmt: skip
    "sysctl": frozenset({"equals", "in", "compare"}),
    "command": frozenset({"matches", "not_matches", "empty"}),
    "process": frozenset({"running"}),
    "files": frozenset({"find", "exclude"}),
}
REGEX_KEYS = ("matches", "not_matches", "value")
COMPARE = re.compile(r"^\s*(<=|>=|<|>|==|!=)\s*(-?\d+)\s*$")
FINDS = ("world_writable", "unowned")
CHECK_KEYS = frozenset({"id", "title", "condition", "tests", "requires", "rationale",
                        "remediation", "compliance", "description"})  # fmt: skip


class _Reader:
    """Turns YAML nodes into values, raising `PolicyError` at the node's place."""

    def __init__(self, file: str) -> None:
        self.file = file

    def where(self, node: yaml.Node) -> str:
        mark = node.start_mark
        return f"{self.file}:{mark.line + 1}:{mark.column + 1}"

    def fail(self, node: yaml.Node, message: str) -> PolicyError:
        return PolicyError(f"{self.where(node)}: {message}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        return {self.scalar(k, "a key"): v for k, v in node.value}

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return str(node.value)

    def strings(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.ScalarNode):
            return (str(node.value),)
        return tuple(self.scalar(n, what) for n in self.sequence(node, what))

    def boolean(self, node: yaml.Node, what: str) -> bool:
        text = self.scalar(node, what).lower()
        if text not in ("true", "false"):
            raise self.fail(node, f"{what} must be true or false, not {text!r}")
        return text == "true"

    def unknown(self, node: yaml.Node, keys: dict[str, yaml.Node], known: frozenset[str]) -> None:
        extra = sorted(set(keys) - known)
        if extra:
            raise self.fail(node, f"unknown key {extra[0]!r}; known: {', '.join(sorted(known))}")


def _test(r: _Reader, node: yaml.Node) -> Test:
    keys = r.mapping(node, "a test")
    subjects = [s for s in SUBJECTS if s in keys]
    if len(subjects) != 1:
        raise r.fail(node, f"a test needs exactly one of {', '.join(SUBJECTS)}")
    kind = subjects[0]
    r.unknown(node, keys, EXPECT_KEYS[kind] | {kind})
    expect: dict[str, object] = {}
    for key, value in keys.items():
        if key == kind:
            continue
        if key in ("exists", "empty", "running"):
            expect[key] = r.boolean(value, key)
        elif key in ("in", "exclude"):
            expect[key] = r.strings(value, key)
        else:
            expect[key] = _checked_scalar(r, key, value)
    if not expect:
        raise r.fail(
            node, f"a {kind} test needs an expectation: {', '.join(sorted(EXPECT_KEYS[kind]))}"
        )
    if kind == "files" and "find" not in expect:
        raise r.fail(node, "a files test needs find: world_writable or unowned")
    return Test(kind, r.strings(keys[kind], kind), expect, r.where(node))


def _checked_scalar(r: _Reader, key: str, node: yaml.Node) -> str:
    text = r.scalar(node, key)
    if key in REGEX_KEYS:
        try:
            re.compile(text)
        except re.error as e:
            raise r.fail(node, f"{key}: bad regular expression: {e}") from e
    elif key == "compare" and not COMPARE.match(text):
        raise r.fail(node, f"compare must be an operator and a number like '<= 365', not {text!r}")
    elif key == "mode_max" and not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise r.fail(node, f"mode_max must be an octal mode like 0644, not {text!r}")
    elif key == "find" and text not in FINDS:
        raise r.fail(node, f"find must be one of {', '.join(FINDS)}, not {text!r}")
    return text


def _check(r: _Reader, node: yaml.Node, seen: set[str]) -> Check:
    keys = r.mapping(node, "a check")
    r.unknown(node, keys, CHECK_KEYS)
    for required in ("id", "title", "tests"):
        if required not in keys:
            raise r.fail(node, f"a check needs {required!r}")
    check_id = r.scalar(keys["id"], "id")
    if check_id in seen:
        raise r.fail(keys["id"], f"duplicate check id {check_id!r}")
    seen.add(check_id)
    condition_text = r.scalar(keys["condition"], "condition") if "condition" in keys else "all"
    try:
        condition = Condition(condition_text)
    except ValueError:
        raise r.fail(keys["condition"], "condition must be all, any or none") from None
    compliance = {}
    if "compliance" in keys:
        for name, ids in r.mapping(keys["compliance"], "compliance").items():
            compliance[name] = r.strings(ids, f"compliance {name}")
    text = {k: r.scalar(keys[k], k) for k in ("title", "rationale", "remediation") if k in keys}
    return Check(
        id=check_id,
        condition=condition,
        tests=tuple(_test(r, n) for n in r.sequence(keys["tests"], "tests")),
        requires=tuple(_test(r, n) for n in r.sequence(keys["requires"], "requires"))
        if "requires" in keys
        else (),
        compliance=compliance,
        **text,
    )


def parse_policy(text: str, file: str) -> Policy:
    """A policy from YAML text; `file` names it in errors."""
    r = _Reader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise PolicyError(f"{yaml_where(file, e)}: not valid YAML: {yaml_problem(e)}") from e
    if root is None:
        raise PolicyError(f"{file}:1:1: empty policy")
    top = r.mapping(root, "a policy file")
    r.unknown(root, top, frozenset({"policy", "checks"}))
    if "policy" not in top or "checks" not in top:
        raise r.fail(root, "a policy file needs 'policy' and 'checks'")
    head = r.mapping(top["policy"], "policy")
    r.unknown(top["policy"], head, frozenset({"id", "name", "description", "applies_to"}))
    if "id" not in head:
        raise r.fail(top["policy"], "policy needs an 'id'")
    applies = {}
    if "applies_to" in head:
        for key, values in r.mapping(head["applies_to"], "applies_to").items():
            applies[key] = r.strings(values, key)
    seen: set[str] = set()
    return Policy(
        id=r.scalar(head["id"], "id"),
        name=r.scalar(head["name"], "name") if "name" in head else r.scalar(head["id"], "id"),
        file=file,
        description=r.scalar(head["description"], "description") if "description" in head else "",
        applies_to=applies,
        checks=tuple(_check(r, n, seen) for n in r.sequence(top["checks"], "checks")),
    )


def load_policy(path: Path) -> Policy:
    """Read and parse a policy file."""
    try:
        text = path.read_text()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read policy: {e.strerror}") from e
    return parse_policy(text, str(path))


BUILTIN_DIR = Path(__file__).parent / "policies"


def builtin_policies() -> list[Policy]:
    """The policies Stockade ships (Debian 12, distribution-independent Linux)."""
    return [load_policy(p) for p in sorted(BUILTIN_DIR.glob("*.yaml"))]
