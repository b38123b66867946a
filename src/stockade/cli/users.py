"""`stockade user ...`: manage console users in the platform's data dir (also when locked out)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.datadir import platform_dir
from stockade.cli.platform import DataDir
from stockade.errors import UsageError

if TYPE_CHECKING:  # imported when a command runs: keeps `stockade --help` fast
    from stockade.platform import Platform
    from stockade.platform.services.roles import Role

PASSWORD_ENV = "STOCKADE_USER_PASSWORD"
Username = Annotated[str, typer.Argument(help="The user's login name.")]
RoleName = Annotated[str, typer.Option(help="viewer (read only), analyst or admin.")]


def _password() -> str:
    """The new password: from STOCKADE_USER_PASSWORD, else asked for twice (not echoed)."""
    chosen = os.environ.get(PASSWORD_ENV)
    if chosen:
        return chosen
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _with_platform(
    data_dir: DataDir, what: str, action: Callable[[Platform], Awaitable[None]]
) -> None:
    """Open the data dir, run `action`, record it in the audit log as done from the CLI."""
    import asyncio
    import getpass

    from stockade.platform import Platform, PlatformConfig
    from stockade.platform.services.accounts import AccountError

    platform = Platform.open(PlatformConfig(data_dir=platform_dir(data_dir)))

    async def run() -> None:
        try:
            await action(platform)
        except AccountError as e:
            raise UsageError(e.reason) from None
        await platform.audit.record(f"cli:{getpass.getuser()}", "CLI", what, 0, "local")

    try:
        asyncio.run(run())
    finally:
        platform.close()


def _role(value: str) -> Role:
    from stockade.platform.services.roles import Role

    try:
        return Role.parse(value)
    except ValueError as e:
        raise UsageError(f"--role: {e}") from None


def user_create(username: Username, role: RoleName = "viewer", data_dir: DataDir = None) -> None:
    """Add a console user (password from STOCKADE_USER_PASSWORD or asked for)."""
    chosen = _role(role)
    password = _password()
    _with_platform(
        data_dir,
        f"user create {username} --role {role}",
        lambda p: p.accounts.create_user(username, password, chosen),
    )
    typer.echo(f"created user {username} ({role})")


def user_list(data_dir: DataDir = None) -> None:
    """List console users and their roles."""

    async def show(platform: Platform) -> None:
        for user in await platform.accounts.list_users():
            typer.echo(f"{user.username}\t{user.role}")

    _with_platform(data_dir, "user list", show)


def user_set_role(username: Username, role: RoleName, data_dir: DataDir = None) -> None:
    """Change a user's role."""
    chosen = _role(role)
    _with_platform(
        data_dir,
        f"user set-role {username} --role {role}",
        lambda p: p.accounts.update_user(username, chosen, None),
    )


def user_password(username: Username, data_dir: DataDir = None) -> None:
    """Set a user's password (ends its login sessions), e.g. for a locked-out admin."""
    password = _password()
    _with_platform(
        data_dir,
        f"user password {username}",
        lambda p: p.accounts.update_user(username, None, password),
    )


def user_delete(username: Username, data_dir: DataDir = None) -> None:
    """Remove a user with its sessions and API tokens."""
    from stockade.platform.services.accounts import ADMIN, Principal
    from stockade.platform.services.roles import Role

    cli = Principal(0, f"cli:{ADMIN}", Role.ADMIN, "")
    _with_platform(
        data_dir, f"user delete {username}", lambda p: p.accounts.delete_user(cli, username)
    )


def register(app: typer.Typer) -> None:
    """Add `stockade user ...` to the top-level app."""
    users = typer.Typer(help="Console users and their roles.", no_args_is_help=True)
    users.command("create")(user_create)
    users.command("list")(user_list)
    users.command("set-role")(user_set_role)
    users.command("password")(user_password)
    users.command("delete")(user_delete)
    app.add_typer(users, name="user")
