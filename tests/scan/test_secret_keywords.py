"""The keyword pre-filter: the same keywords found before and after it compiles its matcher."""

from __future__ import annotations

import subprocess
import sys

from stockade.scan.secrets import keywords
from stockade.scan.secrets.keywords import KeywordIndex

KEYWORDS = (b"akia", b"-----begin", b"ghp_", b"password", b"x-api-key")
TEXTS = (
    b"id = AKIAQ3EGRIWM7XNZ5PHK\n",
    b"-----BEGIN RSA PRIVATE KEY-----\n",
    b"PassWord: hunter2 and GHP_abc\n",
    b"nothing to see here\n",
    b"X-Api-Key header and akia\x00binary",
)


def test_small_contents_are_searched_without_compiling_the_matcher() -> None:
    index = KeywordIndex(KEYWORDS)
    assert index.present(TEXTS[0]) == {b"akia"}
    assert index.present(TEXTS[2]) == {b"password", b"ghp_"}
    assert index._rules is None


def test_both_ways_find_the_same_keywords() -> None:
    one_by_one = KeywordIndex(KEYWORDS)
    compiled = KeywordIndex(KEYWORDS)
    filler = b"." * (keywords.COMPILE_AFTER_BYTES + 1)  # past the budget: the matcher compiles
    assert compiled.present(filler) == set()
    assert compiled._rules is not None
    for text in TEXTS:
        assert one_by_one.present(text) == compiled.present(text), text
    assert one_by_one._rules is None


def test_no_keywords_finds_nothing() -> None:
    assert KeywordIndex(()).present(b"password") == set()


def test_a_scan_with_the_builtin_rules_imports_no_yaml_parser() -> None:
    code = (
        "import sys\n"
        "from stockade.scan.secrets.engine import engine_for\n"
        "engine = engine_for(None)\n"
        "engine.scan('a.env', b'password = hunter2hunter2\\n')\n"
        "print('yaml' in sys.modules, 'yara' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
