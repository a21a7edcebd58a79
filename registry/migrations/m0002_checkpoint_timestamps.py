"""Migration 2: RFC 3161 time-stamp tokens of checkpoints (insert-only evidence).

Frozen DDL (what peewee made of the models when this was written): never edit
this file; change the schema with a new migration."""
from __future__ import annotations

SQLITE = [
    'CREATE TABLE IF NOT EXISTS "checkpoint_timestamp" ("id" INTEGER NOT NULL PRIMARY KEY, "checkpoint_id" INTEGER NOT NULL, "token" BLOB NOT NULL, "nonce" VARCHAR(40) NOT NULL, "gen_time" VARCHAR(40) NOT NULL, "received_at" VARCHAR(40) NOT NULL, FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoint" ("id"))',
    'CREATE UNIQUE INDEX IF NOT EXISTS "checkpoint_timestamp_checkpoint_id" ON "checkpoint_timestamp" ("checkpoint_id")',
]

POSTGRESQL = [
    'CREATE TABLE IF NOT EXISTS "checkpoint_timestamp" ("id" SERIAL NOT NULL PRIMARY KEY, "checkpoint_id" INTEGER NOT NULL, "token" BYTEA NOT NULL, "nonce" VARCHAR(40) NOT NULL, "gen_time" VARCHAR(40) NOT NULL, "received_at" VARCHAR(40) NOT NULL, FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoint" ("id"))',
    'CREATE UNIQUE INDEX IF NOT EXISTS "checkpoint_timestamp_checkpoint_id" ON "checkpoint_timestamp" ("checkpoint_id")',
]


def up(ctx) -> None:
    for statement in (POSTGRESQL if ctx.is_postgresql else SQLITE):
        ctx.database.execute_sql(statement)
    ctx.make_insert_only('checkpoint_timestamp')
