"""Migration 6: the counts that keep access.denied entries in the trail bounded (issue 12 §6).

Frozen DDL (what peewee made of the models when this was written): never edit
this file; change the schema with a new migration."""
from __future__ import annotations

SQLITE = [
    'CREATE TABLE IF NOT EXISTS "denial_window" ("id" INTEGER NOT NULL PRIMARY KEY, "source" VARCHAR(200) NOT NULL, "window_start" DATETIME NOT NULL, "recorded" INTEGER NOT NULL, "suppressed" INTEGER NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "denial_window_source" ON "denial_window" ("source")',
]

POSTGRESQL = [
    'CREATE TABLE IF NOT EXISTS "denial_window" ("id" SERIAL NOT NULL PRIMARY KEY, "source" VARCHAR(200) NOT NULL, "window_start" TIMESTAMP NOT NULL, "recorded" INTEGER NOT NULL, "suppressed" INTEGER NOT NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "denial_window_source" ON "denial_window" ("source")',
]


def up(ctx) -> None:
    for statement in (POSTGRESQL if ctx.is_postgresql else SQLITE):
        ctx.database.execute_sql(statement)
