"""YAML parse errors located the one way every loader of a user's file reports them."""

from __future__ import annotations

import pytest
import yaml

from stockade.yaml_marks import yaml_position, yaml_problem, yaml_where


def _error(text: str) -> yaml.YAMLError:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.safe_load(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "position", "where"),
    [
        pytest.param("a: [\n", (2, 1), "f.yaml:2:1", id="unclosed flow sequence"),
        pytest.param("a: b\n c: d\n", (2, 3), "f.yaml:2:3", id="bad indentation"),
        pytest.param("a: 'x\n", (2, 1), "f.yaml:2:1", id="unclosed quote"),
    ],
)
def test_a_parse_error_has_its_one_based_line_and_column(
    text: str, position: tuple[int, int], where: str
) -> None:
    error = _error(text)
    assert yaml_position(error) == position
    assert yaml_where("f.yaml", error) == where
    assert "\n" not in yaml_problem(error)


def test_an_error_without_a_place_is_named_by_its_origin_alone() -> None:
    error = yaml.YAMLError("no place")
    assert yaml_position(error) is None
    assert yaml_where("f.yaml", error) == "f.yaml"
    assert yaml_problem(error) == "no place"
