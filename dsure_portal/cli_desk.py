"""`dsure-portal contract import`: an obligee's contract register (CSV) for many
certificates at once, as the staff page does it (registry.contracts.register)."""
from __future__ import annotations

import sys

import click
from flask import Flask

from registry.contracts.register import import_register
from registry.accounts.organisations import organisation_by_code

from .cli_support import refusal_exits


def register_desk_commands(app: Flask) -> None:
    contract = click.Group("contract", help="Obligees' contract records (checks against certificates).")
    app.cli.add_command(contract)

    @contract.command("import")
    @click.option("--org", "org_code", required=True, help="The obligee's code.")
    @click.argument("register", type=click.File("rb"))
    def contract_import(org_code, register):
        """Record the contracts of a register CSV (UTF-8 or Shift_JIS) keyed by 保証契約番号.

        Progress goes to stderr; each refused row and the summary to stdout. Exit 0 when
        every row was recorded (or already was), 1 when some rows were refused (the others
        are recorded) or the file could not be read at all."""
        def progress(done: int, total: int) -> None:
            if done == total or done % 100 == 0:
                click.echo(f"{done}/{total} rows", err=True)

        with refusal_exits():
            org = organisation_by_code(org_code, kind="obligee")
            report = import_register(organisation_id=org.id, organisation_code=org.code,
                                     data=register.read(), actor="operator", progress=progress)
        for row, number, message in report.errors:
            click.echo(f"row {row} {number or '-'}: {message}")
        refused = len({row for row, _, _ in report.errors})
        click.echo(f"{report.rows} rows: {report.recorded} recorded, {report.unchanged} unchanged, "
                   f"{refused} refused")
        if refused:
            sys.exit(1)
