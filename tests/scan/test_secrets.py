"""Secret rules: what they catch, what allow rules suppress, custom configs, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.image_config import ImageConfigInput
from stockade.scan.errors import RuleError
from stockade.scan.image import ImageConfig, RuntimeConfig
from stockade.scan.secrets.config_analyzer import ConfigSecretAnalyzer
from stockade.scan.secrets.engine import SecretEngine, one_pattern
from stockade.scan.secrets.rules import builtin_rules, load_rules

ENGINE = SecretEngine(builtin_rules())
TRIVY_IDS = {
    "aws-access-key-id", "aws-secret-access-key", "github-pat", "github-oauth",
    "github-app-token", "github-refresh-token", "github-fine-grained-pat", "gitlab-pat",
    "private-key", "slack-access-token", "slack-web-hook", "stripe-secret-token",
    "stripe-publishable-token", "twilio-api-key", "sendgrid-api-token", "npm-access-token",
    "pypi-upload-token", "gcp-service-account", "jwt-token", "dockerconfig-secret",
    "hugging-face-access-token", "shopify-token", "heroku-api-key", "age-secret-key",
}  # fmt: skip

CASES = {
    "aws-access-key-id": "key = AKIA" + "Q3EGRIWM7XNZ5PHK" + "\n",
    "aws-secret-access-key": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/"
                             "bPxRfiCYzK9qLm2Tb4\n",
    "github-pat": "token: ghp_" + "Zq8" * 12 + "\n",
    "github-oauth": "gho_" + "k4Xm" * 9 + "\n",
    "gitlab-pat": "glpat-" + "aB3dE5gH7jK9mN1pQ2rS" + "\n",
    "slack-access-token": "xoxb-" + "1234567890" + "abcdefghij" + "\n",
    "slack-web-hook": "https://hooks.slack.com/services/" + "T0000000/B0000000/" + "X" * 28 + "\n",
    "stripe-secret-token": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc" + "\n",
    "sendgrid-api-token": "SG." + "a" * 22 + "." + "b" * 43 + "\n",
    "npm-access-token": '//registry/:_authToken="npm_' + "Ab1" * 12 + '"\n',
    "pypi-upload-token": "pypi-AgEIcHlwaS5vcmc" + "x" * 60 + "\n",
    "gcp-service-account": '{"type": "service_account", "project_id": "p"}\n',
    "jwt-token": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                 "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n",
    "dockerconfig-secret": ".dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeSI6e319fQ==\n",
    "docker-config-auth": '{"auths": {"r.io": {"auth": "dXNlcjpzM2NyM3RwYXNz"}}}\n',
    "generic-password-assignment": 'DB_PASSWORD="Tr0ub4dor-horse-staple"\n',
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEow" + "A" * 58 + "\n" + "B" * 64
                   + "\n-----END RSA PRIVATE KEY-----\n",
}  # fmt: skip


def test_builtin_set_covers_trivys_rule_ids() -> None:
    ids = {rule.id for rule in builtin_rules().rules}
    assert ids >= TRIVY_IDS
    assert len(ids) >= 85
    for rule in builtin_rules().rules:  # built-in patterns compile lazily; all must compile
        assert rule.regex.pattern == rule.pattern


@pytest.mark.parametrize("rule_id", sorted(CASES), ids=sorted(CASES))
def test_rule_finds_its_secret_with_line_and_redaction(rule_id: str) -> None:
    text = "# config\n" + CASES[rule_id]
    findings = [f for f in ENGINE.scan("srv/app/settings.conf", text.encode()) if f.id == rule_id]
    assert findings, f"{rule_id} not found"
    assert findings[0].line == (3 if rule_id == "private-key" else 2)  # key body starts on 3
    assert "*" * 8 in findings[0].match


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("srv/tests/fixtures/keys.env", CASES["github-pat"]),  # test paths
        ("usr/share/doc/app/README", CASES["github-pat"]),  # system dirs
        ("srv/app/.env", "AWS_KEY=AKIAIOSFODNN7EXAMPLE\n"),  # documented example value
        ("srv/app/.env", 'password = "changeme"\n'),  # too short / placeholder
        ("srv/app/.env", "password: ${DB_PASSWORD}\n"),  # a reference, not a value
        ("srv/app/tool.pl", "my @passwd = getpwnam($user);\n"),  # code, not a secret
    ],
    ids=["test-path", "usr-share", "example-value", "placeholder", "reference", "code"],
)
def test_allow_rules_and_non_secrets(path: str, text: str) -> None:
    assert ENGINE.path_allowed(path) or ENGINE.scan(path, text.encode()) == []


def test_binaries_are_skipped() -> None:
    content = b"\x7fELF\x00\x00" + CASES["github-pat"].encode()
    assert ENGINE.scan("usr/bin/tool", content) == []


def test_custom_rules_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "secret.yaml"
    config.write_text(
        "rules:\n"
        "  - id: acme-key\n    category: Acme\n    title: Acme API key\n    severity: HIGH\n"
        "    regex: 'acme_(?P<secret>[0-9a-f]{16})'\n    secret-group-name: secret\n"
        "    keywords: [acme_]\n"
        "disable-rules: [github-pat]\n"
    )
    engine = SecretEngine(load_rules(config))
    text = b"x=acme_0123456789abcdef\n" + CASES["github-pat"].encode()
    found = engine.scan("srv/app.conf", text)
    assert [(f.id, f.match) for f in found] == [("acme-key", "x=acme_" + "*" * 16)]


def test_invalid_custom_rules_are_clear_errors(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("rules:\n  - id: broken\n    regex: '(unclosed'\n")
    with pytest.raises(RuleError, match="bad.yaml rule broken: invalid regex"):
        load_rules(config)
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_secrets_in_the_image_config() -> None:
    config = ImageConfig(
        config=RuntimeConfig(Env=["PATH=/bin", "GH=ghp_" + "Zq8" * 12], Labels={"a": "b"})
    )
    [finding] = ConfigSecretAnalyzer(AnalyzerOptions()).analyze(ImageConfigInput(config))
    assert finding.id == "github-pat" and finding.target == "image config"
    assert "ghp_" not in finding.match


@pytest.mark.parametrize(
    "path",
    ["usr/share/doc/x", "app/test/k.env", "srv/app/.env", "a/vendor/b", "README.md", "x.mdx", ""],
)
def test_joined_path_allow_rules_decide_like_each_rule(path: str) -> None:
    rules = [a for a in builtin_rules().allow_rules if a.path_pattern is not None]
    assert one_pattern([a.path_pattern for a in rules if a.path_pattern is not None]) is not None
    assert ENGINE.path_allowed(path) == any(a.allows_path(path) for a in rules)


@pytest.mark.parametrize(
    "patterns",
    [[r"(a)\1", "b"], ["(?i)abc", "d"], []],
    ids=["group-with-backreference", "global-flag", "none"],
)
def test_patterns_that_cannot_be_joined_exactly_are_not(patterns: list[str]) -> None:
    assert one_pattern(patterns) is None
