"""`dsure-portal client list|revoke` and `signing-key list|retire`: the operator's view
of a surety's machine credentials, and ending them (thin wrappers over
registry.accounts.credentials). Lists are tab-separated with a header line, times in UTC."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask

from registry.accounts import machine_credentials as credentials

from .cli_support import refusal_exits


def _time(moment: dt.datetime | None) -> str:
    return moment.isoformat(timespec="seconds") + "Z" if moment else "-"


def _row(*cells) -> str:
    return "\t".join(" ".join(str(cell).split()) for cell in cells)


def register_credential_commands(app: Flask) -> None:
    client = app.cli.commands["client"]
    signing_key = app.cli.commands["signing-key"]

    @client.command("list")
    @click.option("--org", "org_code", required=True)
    def client_list(org_code):
        """A surety's API clients: id, name, created, last used, active."""
        with refusal_exits():
            clients = credentials.api_clients(org_code)
        click.echo(_row("id", "name", "created", "last_used", "active"))
        for c in clients:
            click.echo(_row(c.id, c.name, _time(c.created_at), _time(c.last_used_at),
                            "yes" if c.active else f"no (revoked {_time(c.revoked_at)})"))

    @client.command("revoke")
    @click.argument("client_id", type=int)
    def client_revoke(client_id):
        """Revoke an API client: its token answers 401 from now on."""
        with refusal_exits():
            revoked, changed = credentials.revoke_api_client(client_id)
        state = "revoked" if changed else "was already revoked"
        click.echo(f"client {revoked.id} ({revoked.name}) of {revoked.organisation.code} {state}")

    @signing_key.command("list")
    @click.option("--org", "org_code", required=True)
    def signing_key_list(org_code):
        """A surety's signing keys: key id, fingerprint, created, active or retired."""
        with refusal_exits():
            keys = credentials.signing_keys(org_code)
        click.echo(_row("key_id", "fingerprint", "created", "status"))
        for k in keys:
            click.echo(_row(k.key_id, k.fingerprint, _time(k.created_at),
                            "active" if k.active else f"retired {_time(k.retired_at)}"))

    @signing_key.command("retire")
    @click.argument("key_id")
    def signing_key_retire(key_id):
        """Retire a signing key: new revisions signed with it are refused (403); the
        revisions it signed before still verify."""
        with refusal_exits():
            retired, changed = credentials.retire_signing_key(key_id)
        state = "retired" if changed else "was already retired"
        click.echo(f"signing key {retired.key_id} of {retired.organisation.code} {state}")
