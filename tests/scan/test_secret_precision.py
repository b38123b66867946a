"""Secret precision: generic rules want a literal that looks like a secret, code and prose
need a long random one, allow comments and allow lists are honoured, one finding per secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.scan.errors import RuleError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs
from stockade.scan.secrets.engine import SecretEngine
from stockade.scan.secrets.rules import builtin_rules, load_rules
from stockade.scan.secrets.values import character_classes, shannon_entropy
from tests.support.ci import require_file

ENGINE = SecretEngine(builtin_rules())
GOOGLE_KEY = "AIza" + "SyD3kT9vQm2Lx8pWb7RcN1fHs5GuJ0aEo4Z"  # the shape of a Chromium build key


def _ids(path: str, text: str) -> list[str]:
    return [f.id for f in ENGINE.scan(path, text.encode())]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("app/auth.py", "        self.password = password\n"),
        ("app/auth.py", "    password = get_password(user)\n"),
        ("app/conn.py", "        key_password=self.key_password,\n"),
        ("app/oid.py", '    AttributeOID.CHALLENGE_PASSWORD: "challengePassword",\n'),
        ("app/client.py", "            >>> token = {'access_token': 'sdlfkj452'}\n"),
        ("app/data.lua", '    {username = "weblogic", password = "weblogic1"},\n'),
        ("app/oauth.py", '    "oauth_token=Xk9mQ2vL7pR4sT6w" \n'),
        ("srv/app.conf", 'password = "changeme"\n'),
        ("srv/app.conf", 'password = "aaaaaaaaaaaa"\n'),  # no randomness
        ("srv/app.conf", 'api_key: "abcdefghijkl"\n'),  # one kind of character
        ("srv/app.yaml", "password: DB_PASSWORD_FILE\n"),  # a name, not a value
        ("srv/app.yaml", "password: ${DB_PASSWORD}\n"),
        ("srv/README.rst", "   password = 'Tr0ub4dor&3'\n"),  # prose: short examples
        ("srv/app.json", '{"access_token":"2YotnFZFEjr1zCsicMWpAA"}\n'),  # RFC 6749's example
    ],
    ids=[
        "attribute", "call", "keyword-argument", "constant-name", "docstring-example",
        "lua-defaults", "other-keyword", "placeholder", "low-entropy", "one-class",
        "identifier", "reference", "prose", "rfc-example",
    ],
)  # fmt: skip
def test_code_and_examples_are_not_secrets(path: str, text: str) -> None:
    assert _ids(path, text) == []


@pytest.mark.parametrize(
    ("path", "text", "rule"),
    [
        ("srv/app/.env", "DB_PASSWORD=Xk9mQ2vL7pR4\n", "generic-password-config"),
        ("srv/app/config.yml", "  password: Xk9mQ2vL7pR4  # prod\n", "generic-password-config"),
        ("srv/app/s.json", '{"client_secret": "Xk9mQ2vL7pR4"}\n', "generic-password-assignment"),
        ("srv/app/deploy.sh", 'export API_KEY="Xk9mQ2vL7pR4"\n', "generic-password-assignment"),
        ("srv/app/main.py", 'API_KEY = "q8Zr2Lm9Xv4Tk7Wn3Hp6"\n', "generic-password-in-code"),
    ],
    ids=["dotenv", "yaml", "json", "shell", "python-random"],
)  # fmt: skip
def test_literal_secrets_are_found(path: str, text: str, rule: str) -> None:
    assert _ids(path, text) == [rule]


def test_a_secret_two_rules_match_is_reported_once() -> None:
    found = ENGINE.scan(
        "etc/chromium.d/apikeys", f'export GOOGLE_API_KEY="{GOOGLE_KEY}"\n'.encode()
    )
    assert [f.id for f in found] == ["gcp-api-key"]  # the specific rule, not also the generic


@pytest.mark.parametrize(
    "comment",
    ["# nosec", "# gitleaks:allow", "// pragma: allowlist secret", "# stockade:allow"],
)
def test_allow_comments_silence_a_line(comment: str) -> None:
    assert _ids("srv/app/.env", f'API_KEY="Xk9mQ2vL7pR4" {comment}\n') == []
    assert _ids("srv/app/.env", f'{comment}\nAPI_KEY="Xk9mQ2vL7pR4"\n') != []


def test_an_allow_list_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "secret.yaml"
    config.write_text("allow-rules:\n  - id: staging\n    regex: ^Xk9mQ2\n")
    engine = SecretEngine(load_rules(config))
    assert engine.scan("srv/app/.env", b'API_KEY="Xk9mQ2vL7pR4"\n') == []


def test_rule_thresholds_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "secret.yaml"
    config.write_text("rules:\n  - id: x\n    regex: 'x(?P<s>.+)'\n    entropy: 12\n")
    with pytest.raises(RuleError, match="rule x entropy: 12.0 is outside"):
        load_rules(config)


def test_entropy_and_character_classes() -> None:
    assert shannon_entropy(b"aaaa") == 0.0
    assert shannon_entropy(b"abcd") == 2.0
    assert character_classes(b"aB3!") == 4
    assert character_classes(b"abc") == 1


def test_the_chromium_api_key_of_this_machine_is_kept() -> None:
    apikeys = require_file(Path("/etc/chromium.d/apikeys"), "Debian's chromium (its apikeys file)")
    tree = apikeys.parent
    result = scan_fs(tree, ScanOptions(scanners=frozenset({Scanner.SECRET}), cache_dir=None))
    assert [f.id for f in result.findings if f.path == "apikeys" and f.line == 3] == ["gcp-api-key"]


def test_python_tree_of_this_machine_yields_no_generic_finding() -> None:
    tree = require_file(Path("/usr/lib/python3/dist-packages/pip/__init__.py"), "pip").parents[1]
    result = scan_fs(tree, ScanOptions(scanners=frozenset({Scanner.SECRET}), cache_dir=None))
    assert [f for f in result.findings if f.description == "Generic"] == []
