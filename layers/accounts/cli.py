"""`flask --app server users ...`: the first admin, users, their roles.

    flask --app server users create-admin NAME          # asks for the password
    flask --app server users create NAME --role inspector [--display-name 张伟]
    flask --app server users list
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from layers.accounts.sessions import get_users
from layers.catalogue.entries import ROLES
from layers.errors import ApiError
from layers.records.users import check_name

users_cli = AppGroup("users", help="Accounts: the first admin, users, their roles.")


def cli_actor(by: str | None) -> str:
    """Who runs a command, for the audit log: --by, else the operating system's user."""
    if by:
        return by
    try:
        return f"{getpass.getuser()} (cli)"
    except (OSError, KeyError):
        return "cli"


def read_password(password_stdin: bool, password_env: str | None) -> str:
    if password_env:
        if password_env not in os.environ:
            raise click.ClickException(f"环境变量 {password_env} 未设置 (the environment "
                                       f"variable {password_env} is not set)")
        return os.environ[password_env]
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _create(name: str, role: str, display_name: str | None, password_stdin: bool,
            password_env: str | None, by: str | None) -> None:
    try:
        check_name(name)  # before asking for a password
        password = read_password(password_stdin, password_env)
        user = get_users().create(name, password, role, display_name, by=cli_actor(by))
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"created user {user.name} ({user.display_name}, role {user.role})")


PASSWORD_OPTIONS = [
    click.option("--password-stdin", is_flag=True, help="Read the password from standard input."),
    click.option("--password-env", metavar="VAR",
                 help="Read the password from the environment variable VAR (for scripts)."),
    click.option("--by", help="Who creates the user, for the audit log (default: the OS user)."),
    click.option("--display-name", help="The name shown and proposed as inspector, e.g. 张伟."),
]


def password_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(PASSWORD_OPTIONS):
        command = option(command)
    return command


@users_cli.command("create-admin")
@click.argument("name")
@password_options
def create_admin(name: str, display_name: str | None, password_stdin: bool,
                 password_env: str | None, by: str | None) -> None:
    """Create the admin NAME (the first one, say); the password is asked for twice."""
    _create(name, "admin", display_name, password_stdin, password_env, by)


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="inspector", show_default=True)
@password_options
def create_user(name: str, role: str, display_name: str | None, password_stdin: bool,
                password_env: str | None, by: str | None) -> None:
    """Create the user NAME; the password is asked for (or read from stdin or a variable)."""
    _create(name, role, display_name, password_stdin, password_env, by)


@users_cli.command("list")
def list_users() -> None:
    """List the users, their roles and whether they are disabled."""
    for user in get_users().all():
        state = "\tdisabled" if user.disabled else ""
        click.echo(f"{user.name}\t{user.role}\t{user.display_name}{state}")
