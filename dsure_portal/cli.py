"""`dsure-portal` commands: thin click wrappers over registry functions.

Output is for other programs too: a secret or id that a script needs is alone on the
last line of stdout; failures go to stderr with exit status 1.
"""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from registry import migrations
from registry.accounts import organisations
from registry.demo.world import load_demo
from registry.schema import create_schema

from .cli_support import fail, refusal_exits


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the tables: the same as `db upgrade` (safe to run again)."""
        _upgrade_and_report()

    db = click.Group("db", help="The database schema (versioned migrations).")
    app.cli.add_command(db)

    @db.command("upgrade")
    def db_upgrade():
        """Bring the database to the newest schema; stored bytes are never changed."""
        _upgrade_and_report()

    @db.command("version")
    def db_version():
        """The schema version of the database and the newest this release knows."""
        current, head = migrations.current_version(), migrations.head_version()
        state = "up to date" if current == head else f"{head - current} migration(s) pending"
        click.echo(f"schema version {current} of {head}: {state}")

    org = click.Group("org", help="Organisations (sureties, obligees, the operator).")
    app.cli.add_command(org)

    @org.command("add")
    @click.option("--kind", required=True, type=click.Choice(["surety", "obligee", "operator"]))
    @click.option("--code", required=True)
    @click.option("--name", required=True)
    @click.option("--require-otp", is_flag=True,
                  help="Every user must use TOTP (the default; kept for older scripts).")
    @click.option("--allow-password-only", is_flag=True,
                  help="Let this organisation's users sign in without TOTP (audited).")
    @click.option("--prefecture", default=None,
                  help="An obligee's 都道府県 (default: from the first two digits of its code).")
    def org_add(kind, code, name, require_otp, allow_password_only, prefecture):
        """Register an organisation; its users must use TOTP unless --allow-password-only."""
        if require_otp and allow_password_only:
            fail("--require-otp and --allow-password-only contradict each other")
        with refusal_exits():
            created = organisations.add_organisation(kind=kind, code=code, name=name,
                                                     require_otp=not allow_password_only,
                                                     prefecture=prefecture)
        rule = "password only allowed" if allow_password_only else "TOTP required"
        click.echo(f"{created.kind} {created.code} {created.name}"
                   + (f" {created.prefecture}" if created.prefecture else "") + f" ({rule})")

    client = click.Group("client", help="API clients: a surety's system (the surety API) or "
                                        "an obligee's (the obligee API).")
    app.cli.add_command(client)

    @client.command("add")
    @click.option("--org", "org_code", required=True)
    @click.option("--name", required=True)
    def client_add(org_code, name):
        """Create an API client; its bearer token is printed once, on the last line."""
        with refusal_exits():
            created, token = organisations.add_api_client(org_code=org_code, name=name)
        click.echo(f"client {created.id} for {org_code}; the token below is shown only now:")
        click.echo(token)

    signing_key = click.Group("signing-key", help="Surety signing keys (Ed25519 public keys).")
    app.cli.add_command(signing_key)

    @signing_key.command("add")
    @click.option("--org", "org_code", required=True)
    @click.option("--public-key-file", required=True, type=click.File("rb"))
    def signing_key_add(org_code, public_key_file):
        """Register a public key; its key id is printed on the last line."""
        with refusal_exits():
            key = organisations.add_signing_key(org_code=org_code, pem=public_key_file.read())
        click.echo(f"fingerprint {key.fingerprint}")
        click.echo(key.key_id)

    audit = click.Group("audit", help="The hash-chained audit trail.")
    app.cli.add_command(audit)

    @audit.command("verify")
    @click.option("--checkpoint", "checkpoint_files", multiple=True, type=click.File("rb"),
                  help="Also prove the log still extends this signed checkpoint (repeatable).")
    @click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Walk the chain in this many parts at once (one process each).")
    def audit_verify(checkpoint_files, processes):
        """Recompute the chain, re-verify every stored revision, and check the database
        against the checkpoint directory and the time-stamp tokens."""
        from .cli_evidence import verify_everything
        sys.exit(verify_everything(checkpoint_files, processes=processes))

    @app.cli.command("demo")
    def demo():
        """Load the demo world (idempotent) and print its logins and sample keys."""
        if current_app.config["ENV"] == "production":
            fail("the demo world (with its published passwords) is refused when DSURE_ENV=production")
        create_schema()
        shown = load_demo(instance_path=current_app.instance_path,
                          hasher=current_app.extensions["dsure.hasher"])
        click.echo("サンプル電子保証 (保証契約番号 / 認証キー):")
        for s in shown["samples"]:
            click.echo(f"  {s.contract_number}  {s.auth_key or '(not known)'}  "
                       f"{s.product} {s.obligee} revisions={s.revisions}")
        click.echo(f"surety EJCS signing key id: {shown['key_id']}")
        if shown["api_token"]:
            click.echo(f"surety EJCS API token (shown once): {shown['api_token']}")
        if shown.get("obligee_api_token"):
            click.echo(f"obligee 042081 (角田市) API client token for the obligee API "
                       f"(shown once): {shown['obligee_api_token']}")
        from registry.demo.users import load_demo_users
        click.echo("デモ用ログイン (メールアドレス / パスワード / 権限 / 所属):")
        for email, password, role, org_name in load_demo_users():
            click.echo(f"  {email}  {password}  {role}  {org_name}")

    from .cli_evidence import register_evidence_commands
    register_evidence_commands(app)

    from .cli_accounts import register_account_commands
    register_account_commands(app)

    from .cli_credentials import register_credential_commands
    register_credential_commands(app)
    from .cli_desk import register_desk_commands
    register_desk_commands(app)

    from .cli_outbox import register_outbox_commands
    register_outbox_commands(app)
    from .cli_seed import register_seed_commands
    register_seed_commands(app)


def _upgrade_and_report() -> None:
    with refusal_exits():
        result = create_schema()
    for step in result.applied:
        click.echo(f"applied migration {step}")
    if result.adopted:
        click.echo("adopted a database made before migrations as schema version 1")
    click.echo(f"database ready (schema version {result.after})")


def _create_app(*args, **kwargs):
    from . import create_app
    from .config import ConfigError
    try:
        # A command is not a server: even with DSURE_OUTBOX_THREAD=true it starts no
        # delivery thread (`outbox run` is the worker when one is wanted).
        return create_app({"OUTBOX_THREAD": False})
    except ConfigError as exc:  # the operator's to fix: say what, not a traceback
        fail(f"configuration: {exc}")


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             add_version_option=False, load_dotenv=False)
def main():
    """dsure-portal: electronic guarantee certificates for obligees."""
