"""`stockade rules list|files|show|upload|delete|enable|disable|agents`: the platform's
custom rules through its user API (`/api/v1/rules`), with a user's token.

The platform is `--url` (STOCKADE_URL), the token `--token` (STOCKADE_TOKEN: an API token
or a login's), and `--ca` (STOCKADE_CA) the CA file the console's certificate is checked
against: by default the platform's own CA where it runs on this machine (`pki/ca.crt` in the
default data dir), else the system's trust store.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stockade.cli.datadir import platform_dir
from stockade.cli.errors import CliError
from stockade.errors import UsageError

if TYPE_CHECKING:  # imported when a command runs: keeps `stockade --help` fast
    import httpx

DEFAULT_URL = "https://127.0.0.1:8700"
Url = Annotated[
    str, typer.Option("--url", envvar="STOCKADE_URL", help="The platform's console URL.")
]
Token = Annotated[
    str, typer.Option("--token", envvar="STOCKADE_TOKEN", help="A user's API or login token.")
]
Ca = Annotated[
    Path | None,
    typer.Option("--ca", envvar="STOCKADE_CA", help="CA file for the console's certificate."),
]
RuleName = Annotated[str, typer.Argument(help="A rule's name, as `stockade rules list` shows.")]
FileName = Annotated[str, typer.Argument(help="A custom rule file's name (*.yaml).")]


class PlatformUnreachable(CliError):
    """The platform's API cannot be reached."""


def _local_ca() -> Path | None:
    """The CA of a platform whose data is in the default data dir, if there is one."""
    try:
        found = platform_dir(None) / "pki" / "ca.crt"
    except UsageError:
        return None
    return found if found.is_file() else None


def _client(url: str, token: str, ca: Path | None) -> httpx.Client:
    import httpx

    if not token:
        raise UsageError("--token (or STOCKADE_TOKEN): a user's API token is needed")
    verify: ssl.SSLContext | bool = True
    ca = ca or _local_ca()
    if ca is not None:
        try:
            verify = ssl.create_default_context(cafile=str(ca))
        except (OSError, ssl.SSLError) as e:
            raise UsageError(f"--ca {ca}: cannot read the CA file: {e}") from None
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, verify=verify, timeout=60)


def _call(url: str, token: str, ca: Path | None, method: str, path: str, **kw: Any) -> Any:
    """One API call; its JSON (None when empty). A refusal is a one-line UsageError."""
    import httpx

    with _client(url, token, ca) as client:
        try:
            answer = client.request(method, "/api/v1/rules" + path, **kw)
        except httpx.HTTPError as e:
            raise PlatformUnreachable(f"cannot reach the platform at {url}: {e}") from None
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise UsageError(f"{method} {path or '/'}: {answer.status_code}: {detail}")
    return answer.json() if answer.content else None


def rules_list(url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """List the effective rules (defaults and custom) with each one's source and state."""
    found = _call(url, token, ca, "GET", "")
    typer.echo(f"revision {found['revision']} ({found['sha256'][:12]})")
    for rule in found["rules"]:
        state = "on " if rule["enabled"] else "off"
        switched = "" if rule["switched"] is None else " (switched)"
        typer.echo(f"{state}  {rule['source']:<24}  {rule['name']}{switched}")


def rules_files(url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """List the custom rule files: version, who stored it, when."""
    for f in _call(url, token, ca, "GET", "/files"):
        typer.echo(f"{f['name']}  v{f['version']}  {f['created_by']}  {f['created_at']}")


def rules_show(
    name: FileName,
    version: Annotated[int | None, typer.Option(help="An older version.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = "",
    ca: Ca = None,
) -> None:
    """Print a custom rule file's YAML (the latest version, or --version)."""
    params = {"version": version} if version else {}
    typer.echo(_call(url, token, ca, "GET", f"/files/{name}", params=params)["content"], nl=False)


def rules_upload(
    path: Annotated[Path, typer.Argument(help="A rule file (Falco rule language YAML).")],
    name: Annotated[str | None, typer.Option(help="Its name there (default: the file's).")] = None,
    url: Url = DEFAULT_URL,
    token: Token = "",
    ca: Ca = None,
) -> None:
    """Store a rule file on the platform (checked there first); agents load it in seconds."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the rule file: {e}") from None
    target = name or path.name
    body = json.dumps({"content": content})
    headers = {"Content-Type": "application/json"}
    stored = _call(url, token, ca, "PUT", f"/files/{target}", content=body, headers=headers)
    typer.echo(f"stored {stored['name']} version {stored['version']}")


def rules_delete(name: FileName, url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """Delete a custom rule file (its versions stay)."""
    _call(url, token, ca, "DELETE", f"/files/{name}")
    typer.echo(f"deleted {name}")


def _switch(rule: str, enabled: bool, url: str, token: str, ca: Path | None) -> None:
    _call(url, token, ca, "PUT", "/enabled", json={"rule": rule, "enabled": enabled})
    typer.echo(f"{'enabled' if enabled else 'disabled'} {rule}")


def rules_enable(rule: RuleName, url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """Switch a rule on by name (a default or a custom one)."""
    _switch(rule, True, url, token, ca)


def rules_disable(rule: RuleName, url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """Switch a rule off by name (a default or a custom one)."""
    _switch(rule, False, url, token, ca)


def rules_agents(url: Url = DEFAULT_URL, token: Token = "", ca: Ca = None) -> None:
    """Per agent, the custom rules revision it loaded, or why it kept its previous rules."""
    for a in _call(url, token, ca, "GET", "/agents"):
        state = "loaded" if a["loaded"] else f"refused: {a['error']}"
        typer.echo(f"{a['agent_id']}  revision {a['revision']}  {a['rules']} rules  {state}")


def add_commands(rules: typer.Typer) -> None:
    """Add the platform's custom rules commands to the `rules` group."""
    for name, command in (
        ("list", rules_list),
        ("files", rules_files),
        ("show", rules_show),
        ("upload", rules_upload),
        ("delete", rules_delete),
        ("enable", rules_enable),
        ("disable", rules_disable),
        ("agents", rules_agents),
    ):
        rules.command(name)(command)
