"""Migration 9: notifications (DESIGN §10) — the obligee's webhook endpoints and the
outbox that every email and webhook leaves from.

Explicit DDL per engine, as the models read on the day this was written, so the step
stays what it was when the models change later. Never edit this file: change the schema
with a new migration.
"""
from __future__ import annotations

_OUTBOX_COLUMNS = (
    '"message_id" VARCHAR(40) NOT NULL, "channel" VARCHAR(16) NOT NULL, '
    '"event_type" VARCHAR(64) NOT NULL, "organisation_id" INTEGER NOT NULL, '
    '"contract_number" VARCHAR(12) NOT NULL, "user_id" INTEGER, "endpoint_id" INTEGER, '
    '"payload" TEXT NOT NULL, "created_at" {ts} NOT NULL, "status" VARCHAR(16) NOT NULL, '
    '"attempts" INTEGER NOT NULL, "next_attempt_at" {ts} NOT NULL, '
    '"claim_token" VARCHAR(32), "claimed_until" {ts}, "delivered_at" {ts}, '
    '"last_error" VARCHAR(200), '
    'FOREIGN KEY ("organisation_id") REFERENCES "organisation" ("id"), '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id"), '
    'FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoint" ("id")'
)
_ENDPOINT_COLUMNS = (
    '"public_id" VARCHAR(40) NOT NULL, "organisation_id" INTEGER NOT NULL, '
    '"url" VARCHAR(2048) NOT NULL, "secret_sealed" TEXT NOT NULL, "active" {bool} NOT NULL, '
    '"created_at" {ts} NOT NULL, "removed_at" {ts}, '
    'FOREIGN KEY ("organisation_id") REFERENCES "organisation" ("id")'
)
_INDEXES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS "webhook_endpoint_public_id" ON "webhook_endpoint" ("public_id")',
    'CREATE INDEX IF NOT EXISTS "webhook_endpoint_organisation_id" ON "webhook_endpoint" ("organisation_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "outbox_message_message_id" ON "outbox_message" ("message_id")',
    'CREATE INDEX IF NOT EXISTS "outbox_message_organisation_id" ON "outbox_message" ("organisation_id")',
    'CREATE INDEX IF NOT EXISTS "outbox_message_user_id" ON "outbox_message" ("user_id")',
    'CREATE INDEX IF NOT EXISTS "outbox_message_endpoint_id" ON "outbox_message" ("endpoint_id")',
    # What every worker asks: which pending messages are due.
    'CREATE INDEX IF NOT EXISTS "outbox_message_status_next_attempt_at" ON "outbox_message" ("status", "next_attempt_at")',
]


def statements(*, postgresql: bool) -> list[str]:
    if postgresql:
        key, ts, boolean = '"id" SERIAL NOT NULL PRIMARY KEY', "TIMESTAMP", "BOOLEAN"
    else:
        key, ts, boolean = '"id" INTEGER NOT NULL PRIMARY KEY', "DATETIME", "INTEGER"
    return [
        f'CREATE TABLE IF NOT EXISTS "webhook_endpoint" ({key}, '
        + _ENDPOINT_COLUMNS.format(ts=ts, bool=boolean) + ")",
        f'CREATE TABLE IF NOT EXISTS "outbox_message" ({key}, '
        + _OUTBOX_COLUMNS.format(ts=ts) + ")",
        *_INDEXES,
    ]


def up(ctx) -> None:
    for statement in statements(postgresql=ctx.is_postgresql):
        ctx.database.execute_sql(statement)
