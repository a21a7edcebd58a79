"""`dsure-portal user …`: the operator's account commands (thin wrappers over
registry.accounts.users and registry.accounts.credentials). A password is read from stdin, never from
an argument (arguments end up in shell history and in `ps`). A password the operator
chose is replaced by the user at their next sign-in."""
from __future__ import annotations

import sys

import click
from flask import Flask

from registry.accounts import users as accounts, credentials

from .cli_support import fail, refusal_exits


def _password_from_stdin() -> str:
    text = sys.stdin.readline()
    password = text.rstrip("\r\n")
    if not password:
        fail("no password on stdin")
    return password


def _user_or_fail(email: str) -> accounts.User:
    found = accounts.user_by_email(email)
    if found is None:
        fail(f"no user with email {accounts.normalise_email(email)}")
    return found


def register_account_commands(app: Flask) -> None:
    user = click.Group("user", help="Portal user accounts (obligee staff, admins, auditors).")
    app.cli.add_command(user)

    @user.command("add")
    @click.option("--org", "org_code", required=True, help="Organisation code.")
    @click.option("--email", required=True)
    @click.option("--role", required=True, type=click.Choice(accounts.ROLES))
    @click.option("--name", default="", help="氏名, shown in the admin's staff list.")
    @click.option("--section", default="", help="所属 (課・係), shown in the staff list.")
    @click.option("--password-stdin", is_flag=True, required=True,
                  help="Read the password from the first line of stdin (required).")
    def user_add(org_code, email, role, name, section, password_stdin):
        """Create an account; the password comes from stdin. The user sets their own
        at the first sign-in."""
        password = _password_from_stdin()
        with refusal_exits():
            created = accounts.add_user(org_code=org_code, email=email, role=role,
                                        name=name, section=section,
                                        password=password, must_change_password=True)
        click.echo(f"user {created.id} {created.email} {created.role} of {org_code}")

    @user.command("deactivate")
    @click.option("--email", required=True)
    def user_deactivate(email):
        """Stop an account from signing in; its sessions end at once."""
        with refusal_exits():
            done = accounts.deactivate_user(email=email)
        click.echo(f"user {done.id} {done.email} deactivated")

    @user.command("set-password")
    @click.option("--email", required=True)
    @click.option("--password-stdin", is_flag=True, required=True,
                  help="Read the new password from the first line of stdin (required).")
    def user_set_password(email, password_stdin):
        """Reset a password (e.g. an organisation's admin); the user's sessions end and
        their next sign-in sets a new password of their own."""
        password = _password_from_stdin()
        found = _user_or_fail(email)
        with refusal_exits():
            credentials.reset_password(found, password, actor="operator")
        click.echo(f"user {found.id} {found.email} password reset; "
                   "a new one is asked at the next sign-in")

    @user.command("reset-otp")
    @click.option("--email", required=True)
    def user_reset_otp(email):
        """Forget a user's TOTP secret and recovery codes (lost phone); their sessions
        end, and the next sign-in sets a new password and enrols TOTP again."""
        found = _user_or_fail(email)
        if not credentials.reset_otp(found, actor="operator"):
            click.echo(f"user {found.id} {found.email} has no TOTP; nothing changed")
            return
        click.echo(f"user {found.id} {found.email} TOTP removed; "
                   "a new password and enrolment are asked at the next sign-in")
