"""Migration 4: device cookies' rejected nonces, the address and browser of a session,
and machine credentials that can be revoked or retired (issue 12).

Frozen DDL (what peewee made of the models when this was written): never edit
this file; change the schema with a new migration."""
from __future__ import annotations

SQLITE = [
    'CREATE TABLE IF NOT EXISTS "rejected_device" ("id" INTEGER NOT NULL PRIMARY KEY, "nonce" VARCHAR(64) NOT NULL, "user_id" INTEGER NOT NULL, "rejected_at" DATETIME NOT NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id"))',
    'CREATE UNIQUE INDEX IF NOT EXISTS "rejected_device_nonce" ON "rejected_device" ("nonce")',
    'CREATE INDEX IF NOT EXISTS "rejected_device_user_id" ON "rejected_device" ("user_id")',
]

POSTGRESQL = [
    'CREATE TABLE IF NOT EXISTS "rejected_device" ("id" SERIAL NOT NULL PRIMARY KEY, "nonce" VARCHAR(64) NOT NULL, "user_id" INTEGER NOT NULL, "rejected_at" TIMESTAMP NOT NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id"))',
    'CREATE UNIQUE INDEX IF NOT EXISTS "rejected_device_nonce" ON "rejected_device" ("nonce")',
    'CREATE INDEX IF NOT EXISTS "rejected_device_user_id" ON "rejected_device" ("user_id")',
]


# (table, column, type): all nullable, so existing rows need nothing.
COLUMNS = [
    ("user_session", "address", "VARCHAR(64)"),
    ("user_session", "browser", "VARCHAR(100)"),
    ("api_client", "last_used_at", "TIMESTAMP"),
    ("api_client", "revoked_at", "TIMESTAMP"),
    ("signing_key", "retired_at", "TIMESTAMP"),
]


def up(ctx) -> None:
    for statement in (POSTGRESQL if ctx.is_postgresql else SQLITE):
        ctx.database.execute_sql(statement)
    for table, column, kind in COLUMNS:
        if kind == "TIMESTAMP" and not ctx.is_postgresql:
            kind = "DATETIME"  # what peewee's DateTimeField is on SQLite
        ctx.database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')
