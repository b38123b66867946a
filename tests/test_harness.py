"""The suite's own rules, and the tests/support helpers they point to.

Test modules do not import each other, nothing sleeps, and nothing skips past the CI
rule (tests.support.ci). Shared helpers live in tests/support (or a helper module beside
the tests that use it); waits poll with a deadline (tests.support.polling).
"""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ci
from tests.support.polling import poll_until, poll_value
from tests.support.ports import free_port, free_port_pair

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def _is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from tests.x import test_y`
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def _is_sleep(call: ast.Call, sleep_from_time: bool) -> bool:
    """time.sleep(...), a bare sleep(...) imported from time, or asyncio.sleep(non-zero)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "sleep" and sleep_from_time
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return False
    if func.attr != "sleep" or func.value.id not in ("time", "asyncio"):
        return False
    first = call.args[0] if call.args else None
    yields_only = isinstance(first, ast.Constant) and first.value == 0  # waits for nothing
    return func.value.id == "time" or not yields_only


def _sleeps(tree: ast.Module) -> Iterator[int]:
    """Lines that sleep; code in strings (scripts for child processes) is not code here."""
    sleep_from_time = any(
        isinstance(n, ast.ImportFrom)
        and n.module == "time"
        and "sleep" in {a.name for a in n.names}
        for n in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_sleep(node, sleep_from_time):
            yield node.lineno


def test_no_test_module_imports_another() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{line}: imports {module}"
        for path, tree in _modules()
        for line, module in _imported(tree)
        if _is_test_module(module)
    ]
    assert found == [], "move shared helpers to tests/support or a helper module"


def test_no_fixed_sleeps_outside_the_support_package() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{line}"
        for path, tree in _modules()
        if not path.is_relative_to(SUPPORT)
        for line in _sleeps(tree)
    ]
    assert found == [], "poll with tests.support.polling.poll_until instead of sleeping"


def _is_bare_skip(node: ast.AST) -> bool:
    """pytest.skip(...) or pytest.importorskip(...) called, or pytest.mark.skip(if) used."""
    if isinstance(node, ast.Call):
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "pytest"
            and func.attr in ("skip", "importorskip")
        )
    return (
        isinstance(node, ast.Attribute)
        and node.attr in ("skip", "skipif")
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    )


def _skips(tree: ast.Module) -> Iterator[int]:
    """Lines that skip without the CI rule."""
    for node in ast.walk(tree):
        if isinstance(node, ast.expr) and _is_bare_skip(node):
            yield node.lineno


def test_skips_go_through_the_ci_rule() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{line}"
        for path, tree in _modules()
        if not path.is_relative_to(SUPPORT)
        for line in _skips(tree)
    ]
    assert found == [], "use tests.support.ci (skip_or_fail, require): under CI=true it fails"


@pytest.mark.parametrize(
    ("source", "sleeps"),
    [
        ("import time\ntime.sleep(1)\n", [2]),
        ("from time import sleep\nsleep(1)\n", [2]),
        ("import asyncio\nasyncio.sleep(0.5)\nasyncio.sleep(0)\n", [2]),
        ("script = 'import time; time.sleep(9)'\n", []),
    ],
    ids=["time.sleep", "bare-sleep", "asyncio", "in-a-string"],
)
def test_the_sleep_check_finds_calls_not_strings(source: str, sleeps: list[int]) -> None:
    assert list(_sleeps(ast.parse(source))) == sleeps


@pytest.mark.parametrize(
    ("source", "skips"),
    [
        ("import pytest\npytest.skip('x')\n", [2]),
        ("import pytest\n@pytest.mark.skipif(True, reason='x')\ndef f(): pass\n", [2]),
        ("import pytest\npytest.importorskip('x')\n", [2]),
        ("import pytest\n@pytest.mark.skip\ndef f(): pass\n", [2]),
        ("from tests.support.ci import skip_or_fail\nskip_or_fail('x')\n", []),
        ("import pytest\nerror = pytest.skip.Exception\n", []),
    ],
    ids=["skip", "skipif", "importorskip", "mark-skip", "skip_or_fail", "the-exception"],
)
def test_the_skip_check_finds_bare_skips(source: str, skips: list[int]) -> None:
    assert list(_skips(ast.parse(source))) == skips


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("tests.rules.test_sigma", True),
        ("tests.scan.conftest", True),
        ("tests.support.polling", False),
        ("tests.rules.sigma_samples", False),
        ("stockade.rules.test_helpers", False),
    ],
)
def test_the_import_check_names_test_modules(module: str, forbidden: bool) -> None:
    assert _is_test_module(module) is forbidden


def test_poll_until_returns_the_first_truthy_value() -> None:
    answers = iter([None, [], ["found"]])
    assert poll_until(lambda: next(answers), 5, "an answer", interval=0) == ["found"]


def test_poll_until_says_what_it_waited_for_at_the_deadline() -> None:
    with pytest.raises(
        AssertionError, match=r"timed out after 0s waiting for the moon \(last: \[\]\)"
    ):
        poll_until(list, 0, "the moon")


def test_poll_value_returns_the_accepted_result() -> None:
    counter = iter(range(10))
    assert poll_value(lambda: next(counter), lambda n: n >= 3, 5, "three", interval=0) == 3


@pytest.mark.parametrize("in_ci", [False, True], ids=["local", "ci"])
def test_a_missing_capability_skips_except_in_ci(
    monkeypatch: pytest.MonkeyPatch, in_ci: bool
) -> None:
    monkeypatch.setattr(ci, "IN_CI", in_ci)
    expected = pytest.fail.Exception if in_ci else pytest.skip.Exception
    with pytest.raises(expected, match="no unicorn"):
        ci.require(False, "no unicorn")
    ci.require(True, "never said")


def test_free_ports_can_be_bound() -> None:
    for port in (free_port(), free_port_pair(), free_port_pair() + 1):
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
