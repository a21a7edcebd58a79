"""Migration 8: ``user.notify_by_email`` — whether a staff member gets an email when a
certificate on the organisation's list gets a new revision (DESIGN §10). Everyone starts
opted in; the opt-out is on /account.

Added in place with a column default (``ALTER TABLE … ADD COLUMN … NOT NULL DEFAULT
TRUE``) on both engines: no table rebuild, so the rows that point at ``user`` (sessions,
listings, the TOTP codes that cascade) are never touched. Never edit this file: change
the schema with a new migration.
"""
from __future__ import annotations

import peewee as pw


def up(ctx) -> None:
    column = pw.BooleanField(default=True, constraints=[pw.SQL("DEFAULT TRUE")])
    ctx.run(ctx.migrator.add_column("user", "notify_by_email", column, allow_not_null=True))
