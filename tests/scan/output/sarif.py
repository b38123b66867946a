"""SARIF validation against the official schema, for the output format tests."""

from __future__ import annotations

from typing import Any

import jsonschema


def assert_valid_sarif(log: dict[str, Any], schema: dict[str, Any]) -> None:
    """Validate `log` against the official schema, listing every error at once."""
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []
