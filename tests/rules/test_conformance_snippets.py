# ruff: noqa: E501 - the table is keyed by the corpus file names
"""Falco's rule-file conformance snippets: each loads or is refused as its test name says.

Each entry is (outcome, codes): "refused" with the first error code, or "loads" with the
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
    "engine_yaml_cases/test_extra_output__extra_fields_all__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_extra_output__extra_format_all__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_extra_output__extra_format_by_rule__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_extra_output__extra_format_by_tag_rule__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_extra_output__extra_format_empty_container_info__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__append_across_sources__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__condition_append__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__deprecated_evt_dir_folded_scalar_condition_snippet__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__deprecated_evt_dir_via_macro_folded_scalar_condition_snippet__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__deprecated_field_in_output__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__empty_source_addl_rule__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__empty_string_source_addl_rule__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__evttype_warning_disabled_by_warn_evttypes__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__evttype_warning_for_broad_condition__0.yaml": (
        "loads",
        ("LOAD_NO_EVTTYPE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_append_no_values__0.yaml": (
        "loads",
        ("LOAD_APPEND_NO_VALUES", "LOAD_DEPRECATED_ITEM", "LOAD_NO_EVTTYPE"),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_condition__0.yaml": (
        "loads",
        ("LOAD_NO_EVTTYPE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_fields_transformer__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_fields_transformer_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_fields_transformer_space_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_all_three_modifiers__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_comp_whitespace_normalized__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_contains_allof__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_endswith_anyof__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_eq_oneof__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_glob_oneof__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_icontains_oneof__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_invalid_base_operator__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_invalid_base_operator_scalar_field__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_list_op_unchanged__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_list_op_with_modifier__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_modifier_alone__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_multi_field_both_compound__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_multi_field_mixed__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_numeric_op_with_modifier__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_regex_oneof__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_scalar_value_parenthesised__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_startswith_oneof__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_modifier_op_str_op_multi_field_regression__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_names_not_unique__0.yaml": (
        "loads",
        ("LOAD_EXCEPTION_NAME_NOT_UNIQUE", "LOAD_NO_EVTTYPE"),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_override_no_values__0.yaml": (
        "loads",
        ("LOAD_APPEND_NO_VALUES", "LOAD_NO_EVTTYPE"),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_rhs_field_ambiguous__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_rhs_field_ambiguous_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_rhs_field_ambiguous_space_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_rhs_transformer__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_transformer_space__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_transformer_space_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__exceptions_values_transformer_value_quoted__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__list_append__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__list_append_after_list_definition__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__list_append_before_list_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__list_cross_type_key_priority__0.yaml": (
        "loads",
        ("LOAD_UNKNOWN_KEY",),
    ),
    "engine_yaml_cases/test_rule_loader__list_name_invalid__0.yaml": (
        "loads",
        ("LOAD_INVALID_LIST_NAME",),
    ),
    "engine_yaml_cases/test_rule_loader__list_override_append_after_list_definition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__list_override_append_before_list_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__list_override_append_wrong_key__0.yaml": (
        "loads",
        ("LOAD_UNKNOWN_KEY",),
    ),
    "engine_yaml_cases/test_rule_loader__list_override_replace_before_list_definition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__list_unknown_key__0.yaml": (
        "loads",
        ("LOAD_UNKNOWN_KEY",),
    ),
    "engine_yaml_cases/test_rule_loader__list_value_with_escaping__0.yaml": (
        "loads",
        ("LOAD_UNUSED_LIST",),
    ),
    "engine_yaml_cases/test_rule_loader__macro_append_after_macro_definition__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__macro_append_before_macro_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__macro_name_invalid__0.yaml": (
        "loads",
        ("LOAD_INVALID_MACRO_NAME", "LOAD_UNUSED_MACRO"),
    ),
    "engine_yaml_cases/test_rule_loader__macro_override_append_after_macro_definition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__macro_override_append_before_macro_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__macro_override_replace_before_macro_definition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__macro_unknown_key__0.yaml": (
        "loads",
        ("LOAD_UNKNOWN_KEY",),
    ),
    "engine_yaml_cases/test_rule_loader__missing_enabled_key_with_override__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__no_deprecated_field_warning_in_output__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__no_evttype_warning_for_evt_type_contradiction__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__no_evttype_warning_for_narrow_condition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__no_evttype_warning_for_never_true_macro__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__no_evttype_warning_for_unsatisfiable_condition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__override_replace_capture__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__override_replace_tags__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__override_replace_warn_evttypes__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__redefine_rule_different_source__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__required_engine_version_invalid__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__required_engine_version_not_semver__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__required_engine_version_semver__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rewrite_rule__0.yaml": ("loads", ("LOAD_NO_EVTTYPE",)),
    "engine_yaml_cases/test_rule_loader__rule_append__0.yaml": ("loads", ("LOAD_DEPRECATED_ITEM",)),
    "engine_yaml_cases/test_rule_loader__rule_append_after_rule_definition__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_append_before_rule_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_capture_disabled_by_default__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_capture_duration__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_capture_duration_wrong_type__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_capture_enabled__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_capture_wrong_type__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_enabled_is_ignored_by_append__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_enabled_warning__0.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_incorrect_append_override__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_incorrect_override_type__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_not_enabled__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_append__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_append_after_rule_definition__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_append_before_rule_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_append_replace__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_capture_duration_replace__0.yaml": (
        "loads",
        (),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_capture_replace__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_exceptions_required_fields__0.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_extra_field__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_replace__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_replace_before_rule_definition__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_override_with_enabled__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_override_without_field__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_unknown_key__0.yaml": (
        "loads",
        ("LOAD_UNKNOWN_KEY",),
    ),
    "engine_yaml_cases/test_rule_loader__rule_with_skip_if_unknown_filter__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__rule_with_warn_evttypes__0.yaml": ("loads", ()),
    "engine_yaml_cases/test_rule_loader__selective_replace_across_sources__0.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsAppendItemFieldsValuesLenMismatch__append_item_fields_values_len_mismatch.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsAppendItemNoName__append_item_no_name.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsAppendItemNotInRule__append_item_not_in_rule.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemCompsFieldsLenMismatch__item_comps_fields_len_mismatch.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemFieldsValuesLenMismatch__item_fields_values_len_mismatch.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemNoFields__item_no_fields.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemNoName__item_no_name.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemUnknownComp__item_unknown_comp.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsItemUnknownFields__item_unknown_fields.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendComp__rule_exception_append_comp.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendMultiple__rule_exception_append_multiple.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendOneValue__rule_exception_append_one_value.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendSecondItem__rule_exception_append_second_item.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendSecondValue__rule_exception_append_second_value.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionAppendThirdItem__rule_exception_append_third_item.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionComp__rule_exception_comp.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionNewNoFieldAppend__rule_exception_new_no_field_append.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionNewSecondFieldAppend__rule_exception_new_second_field_append.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionNewSingleFieldAppend__rule_exception_new_single_field_append.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionNoValues__rule_exception_no_values.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionOneValue__rule_exception_one_value.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionQuoted__rule_exception_quoted.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionSecondItem__rule_exception_second_item.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionSecondValue__rule_exception_second_value.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionSingleFieldAppend__rule_exception_single_field_append.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionSingleField__rule_exception_single_field.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionThirdItem__rule_exception_third_item.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionValuesList__rule_exception_values_list.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionValuesListrefNoparens__rule_exception_values_listref_noparens.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/exceptions__ExceptionsRuleExceptionValuesListref__rule_exception_values_listref.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/falco__AppendSingleRule__append_single_rule.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/falco__AppendUnknownSource__append_unknown_source.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM", "LOAD_UNKNOWN_SOURCE"),
    ),
    "testing_rules_yaml/falco__CatchallOrder__catchall_order.yaml": ("loads", ()),
    "testing_rules_yaml/falco__DetectConnectUsingIn__detect_connect_using_in.yaml": ("loads", ()),
    "testing_rules_yaml/falco__DisabledRuleUsingEnabledFlagOnly__disabled_rule_using_enabled_flag_only.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/falco__DoubleRule__double_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__EmptyRules__empty_rules.yaml": ("loads", ()),
    "testing_rules_yaml/falco__EnabledRuleUsingEnabledFlagOnly__enabled_rule_using_enabled_flag_only.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/falco__Endswith__endswith.yaml": ("loads", ()),
    "testing_rules_yaml/falco__EngineVersionMismatch__engine_version_mismatch.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__FalcoRulesWarnings__falco_rules_warnings.yaml": (
        "loads",
        ("LOAD_NO_EVTTYPE",),
    ),
    "testing_rules_yaml/falco__InvalidAppendMacroMultipleDocs__invalid_append_macro_multiple_docs.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_CONDITION",),
    ),
    "testing_rules_yaml/falco__InvalidAppendMacro__invalid_append_macro.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidAppendRuleMultipleDocs__invalid_append_rule_multiple_docs.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_CONDITION",),
    ),
    "testing_rules_yaml/falco__InvalidAppendRuleWithoutCondition__invalid_append_rule_without_condition.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidAppendRule__invalid_append_rule.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidArrayItemNotObject__invalid_array_item_not_object.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidBaseMacro__invalid_base_macro.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/falco__InvalidBaseRule__invalid_base_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__InvalidConditionNotRule__invalid_condition_not_rule.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidEngineVersionNotNumber__invalid_engine_version_not_number.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidListLoop__invalid_list_loop.yaml": ("loads", ()),
    "testing_rules_yaml/falco__InvalidListWithoutItems__invalid_list_without_items.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMacroCompleError__invalid_macro_comple_error.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMacroLoop__invalid_macro_loop.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMacroWithoutCondition__invalid_macro_without_condition.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMissingListName__invalid_missing_list_name.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMissingMacroName__invalid_missing_macro_name.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidMissingRuleName__invalid_missing_rule_name.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidNotArray__invalid_not_array.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidNotYaml__invalid_not_yaml.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidOverwriteMacroMultipleDocs__invalid_overwrite_macro_multiple_docs.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidOverwriteMacro__invalid_overwrite_macro.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidOverwriteRuleMultipleDocs__invalid_overwrite_rule_multiple_docs.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidOverwriteRule__invalid_overwrite_rule.yaml": (
        "refused",
        ("LOAD_ERR_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidRuleOutput__invalid_rule_output.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_OUTPUT",),
    ),
    "testing_rules_yaml/falco__InvalidRuleWithoutOutput__invalid_rule_without_output.yaml": (
        "refused",
        ("LOAD_ERR_YAML_VALIDATE",),
    ),
    "testing_rules_yaml/falco__InvalidYamlParseError__invalid_yaml_parse_error.yaml": (
        "refused",
        ("LOAD_ERR_YAML_PARSE",),
    ),
    "testing_rules_yaml/falco__ListAppendFalse__list_append_false.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListAppend__list_append.yaml": ("loads", ("LOAD_DEPRECATED_ITEM",)),
    "testing_rules_yaml/falco__ListOrder__list_order.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubBare__list_sub_bare.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubEnd__list_sub_end.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubFront__list_sub_front.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubMid__list_sub_mid.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubWhitespace__list_sub_whitespace.yaml": ("loads", ()),
    "testing_rules_yaml/falco__ListSubstring__list_substring.yaml": (
        "loads",
        ("LOAD_UNUSED_LIST",),
    ),
    "testing_rules_yaml/falco__MacroAppendFalse__macro_append_false.yaml": ("loads", ()),
    "testing_rules_yaml/falco__MacroAppend__macro_append.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/falco__MacroOrder__macro_order.yaml": ("loads", ()),
    "testing_rules_yaml/falco__MultipleDocs__multiple_docs.yaml": ("loads", ()),
    "testing_rules_yaml/falco__NullOutputField__null_output_field.yaml": ("loads", ()),
    "testing_rules_yaml/falco__OverrideList__override_list.yaml": ("loads", ("LOAD_UNUSED_LIST",)),
    "testing_rules_yaml/falco__OverrideMacro__override_macro.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/falco__OverrideNestedList__override_nested_list.yaml": (
        "loads",
        ("LOAD_UNUSED_LIST",),
    ),
    "testing_rules_yaml/falco__OverrideRule__override_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__PluginsCloudtrailCreateInstancesExceptions__cloudtrail_create_instances_exceptions.yaml": (
        "loads",
        ("LOAD_UNKNOWN_SOURCE",),
    ),
    "testing_rules_yaml/falco__PluginsCloudtrailCreateInstances__cloudtrail_create_instances.yaml": (
        "loads",
        ("LOAD_UNKNOWN_SOURCE",),
    ),
    "testing_rules_yaml/falco__PluginsCloudtrailIncompatPluginVersion__cloudtrail_incompat_plugin_version.yaml": (
        "loads",
        ("LOAD_UNKNOWN_SOURCE",),
    ),
    "testing_rules_yaml/falco__RuleAppendFalse__rule_append_false.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/falco__RuleAppend__rule_append.yaml": ("loads", ("LOAD_DEPRECATED_ITEM",)),
    "testing_rules_yaml/falco__RuleNamesWithRegexChars__rule_names_with_regex_chars.yaml": (
        "loads",
        (),
    ),
    "testing_rules_yaml/falco__RuleNamesWithSpaces__rule_names_with_spaces.yaml": ("loads", ()),
    "testing_rules_yaml/falco__RuleOrder__rule_order.yaml": ("loads", ()),
    "testing_rules_yaml/falco__RulesDir000SingleRule__000-single_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__RulesDir001DoubleRule__001-double_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__RulesListWithPluginJSON__rule-list-with-plugin-json.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_CONDITION",),
    ),
    "testing_rules_yaml/falco__ShadowingRules__shadowing_rules.yaml": ("loads", ()),
    "testing_rules_yaml/falco__SingleRuleEnabledFlag__single_rule_enabled_flag.yaml": ("loads", ()),
    "testing_rules_yaml/falco__SingleRuleWithTags__single_rule_with_tags.yaml": ("loads", ()),
    "testing_rules_yaml/falco__SingleRule__single_rule.yaml": ("loads", ()),
    "testing_rules_yaml/falco__SkipUnknownError__skip_unknown_error.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_CONDITION",),
    ),
    "testing_rules_yaml/falco__SkipUnknownEvt__skip_unknown_evt.yaml": (
        "loads",
        ("LOAD_UNKNOWN_FILTER",),
    ),
    "testing_rules_yaml/falco__SkipUnknownPrefix__skip_unknown_prefix.yaml": ("loads", ()),
    "testing_rules_yaml/falco__SkipUnknownUnspec__skip_unknown_unspec.yaml": (
        "refused",
        ("LOAD_ERR_COMPILE_CONDITION",),
    ),
    "testing_rules_yaml/falco__Syscalls__syscalls.yaml": ("loads", ("LOAD_DEPRECATED_ITEM",)),
    "testing_rules_yaml/falco__TaggedRules__tagged_rules.yaml": ("loads", ()),
    "testing_rules_yaml/k8saudit__K8SAuditAllowNamespaceFoo__allow_namespace_foo.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditAllowNginxContainer__allow_nginx_container.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditAllowOnlyApacheContainer__allow_only_apache_container.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditAllowUserSomeUser__allow_user_some-user.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditDisallowKactivity__disallow_kactivity.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditEngineV4AllowNginxContainer__allow_nginx_container.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditEngineV4AllowOnlyApacheContainer__allow_only_apache_container.yaml": (
        "loads",
        ("LOAD_UNUSED_MACRO",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditEngineV4K8SAuditRules__engine_v4_k8s_audit_rules.yaml": (
        "loads",
        ("LOAD_UNKNOWN_SOURCE", "LOAD_UNUSED_LIST", "LOAD_UNUSED_MACRO"),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditSingleRuleWithJsonPointer__single_rule_with_json_pointer.yaml": (
        "loads",
        ("LOAD_UNKNOWN_SOURCE",),
    ),
    "testing_rules_yaml/k8saudit__K8SAuditTrustNginxContainer__trust_nginx_container.yaml": (
        "loads",
        ("LOAD_DEPRECATED_ITEM",),
    ),
    "testing_rules_yaml/legacy__LegacyFalcoRules_v1_0_1__falco_rules.yaml": ("loads", ()),
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
