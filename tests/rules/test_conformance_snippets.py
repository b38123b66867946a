"""Falco's rule-file conformance snippets: each loads or is refused as its test name says.

The table lives in conformance_expectations.yaml. Each entry is (outcome, codes):
"refused" with the first error code, or "loads" with the
exact set of warning codes the snippet raises. Snippets that only make sense after
another file (a companion) are loaded after it, as in Falco's own tests.
Notes on deliberate outcomes:
- engine_yaml_cases *_exceptions_fields_transformer*, *_values_rhs_*, *_values_transformer_*
  are fragments (an `exceptions:` block without its rule); they are refused as YAML that
  is not an array of objects.
- *_exceptions_modifier_op_invalid_*, *_list_op_with_modifier, *_modifier_alone,
  *_numeric_op_with_modifier are refused (LOAD_ERR_VALIDATE), as in Falco.
- InvalidBaseMacro / InvalidBaseRule are the valid bases of Falco's invalid-append tests.
- InvalidListLoop: lists expand in definition order, so the redefinition makes no loop.
- list_name_invalid loads with LOAD_INVALID_LIST_NAME: lists are substituted as text before
  parsing, as Falco does, so a list name holding a space still works.
- Cloudtrail / json plugins are not built in: their rules are skipped with
  LOAD_UNKNOWN_SOURCE; a condition using json.* fields on a syscall rule is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stockade.rules import load_rules

BASE = "falco/conformance"
K8S_RULES = "falco/rules/plugins/k8s_audit_rules.yaml"
COMPANIONS = {
    "falco__DoubleRule__double_rule.yaml": "falco__SingleRule__single_rule.yaml",
    "falco__RulesDir001DoubleRule__001-double_rule.yaml": (
        "falco__RulesDir000SingleRule__000-single_rule.yaml"
    ),
    "falco__AppendSingleRule__append_single_rule.yaml": "falco__SingleRule__single_rule.yaml",
    "falco__RulesListWithPluginJSON__rule-list-with-plugin-json.yaml": (
        "falco__SingleRule__single_rule.yaml"
    ),
}

EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    key: (entry["outcome"], tuple(entry["codes"]))
    for key, entry in yaml.safe_load(
        (Path(__file__).parent / "conformance_expectations.yaml").read_text()
    ).items()
}


def _paths(corpus: Path, key: str) -> list[Path]:
    snippet = corpus / BASE / key
    name = snippet.name
    if name.startswith("k8saudit__"):
        return [corpus / K8S_RULES, snippet]
    if name in COMPANIONS:
        return [snippet.parent / COMPANIONS[name], snippet]
    return [snippet]


def test_table_covers_every_snippet(corpus: Path) -> None:
    on_disk = {
        f"{d}/{p.name}"
        for d in ("engine_yaml_cases", "testing_rules_yaml")
        for p in (corpus / BASE / d).iterdir()
    }
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) == 226


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()), ids=sorted(EXPECTED))
def test_snippet(corpus: Path, key: str, expected: tuple[str, tuple[str, ...]]) -> None:
    outcome, codes = expected
    ruleset = load_rules(_paths(corpus, key))
    snippet = str(corpus / BASE / key)
    if outcome == "refused":
        assert ruleset.errors, "expected the file to be refused"
        assert (ruleset.errors[0].code,) == codes
        assert ruleset.errors[0].message
        assert not any(r.file == snippet for r in ruleset.rules)
    else:
        assert ruleset.errors == []
        assert tuple(sorted({w.code for w in ruleset.warnings if w.file == snippet})) == codes


def test_invalid_names_are_refused() -> None:
    for key, (outcome, _) in EXPECTED.items():
        stem = key.rsplit("__", 1)[-1].removesuffix(".yaml")
        if (
            stem.endswith(("mismatch", "no_name"))
            or stem.startswith("invalid_")
            and not (stem.startswith("invalid_base") or stem == "invalid_list_loop")
        ):
            assert outcome == "refused", key
