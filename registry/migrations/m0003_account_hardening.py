"""Migration 3: accounts to ASVS level 2 (issue 12): recovery codes, and the flags that
force a new password and a new TOTP enrolment after an admin's reset.

Frozen DDL (what peewee made of the models when this was written): never edit
this file; change the schema with a new migration."""
from __future__ import annotations

SQLITE = [
    'CREATE TABLE IF NOT EXISTS "recovery_code" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "code_hash" VARCHAR(200) NOT NULL, "created_at" DATETIME NOT NULL, "used_at" DATETIME, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX IF NOT EXISTS "recovery_code_user_id" ON "recovery_code" ("user_id")',
]

POSTGRESQL = [
    'CREATE TABLE IF NOT EXISTS "recovery_code" ("id" SERIAL NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "code_hash" VARCHAR(200) NOT NULL, "created_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE)',
    'CREATE INDEX IF NOT EXISTS "recovery_code_user_id" ON "recovery_code" ("user_id")',
]


# Existing users owe nothing: both flags start false. Existing organisations keep their
# require_otp as it was (only new ones default to requiring TOTP, in the model).
USER_FLAGS = ("must_change_password", "must_enrol_otp")


def up(ctx) -> None:
    for statement in (POSTGRESQL if ctx.is_postgresql else SQLITE):
        ctx.database.execute_sql(statement)
    kind, false = ("BOOLEAN", "false") if ctx.is_postgresql else ("INTEGER", "0")
    for column in USER_FLAGS:
        ctx.database.execute_sql(
            f'ALTER TABLE "user" ADD COLUMN "{column}" {kind} NOT NULL DEFAULT {false}')
