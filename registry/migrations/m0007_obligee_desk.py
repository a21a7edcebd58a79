"""Migration 7: the obligee desk (DESIGN §10).

- ``obligee_contract``: an obligee's own record of the contract behind a certificate and
  the summary of its checks (new table, frozen DDL below).
- ``organisation.prefecture`` VARCHAR(8) NULL: filled for every obligee from the first two
  digits of its 全国地方公共団体コード (JIS X 0401), so the enrolled list is searchable by
  prefecture at once.
- ``certificate.guarantee_period_end`` DATE NULL, indexed: 保証期間の終了 of the current
  revision, filled here from each certificate's stored revisions (the work queue counts
  guarantees that end within 30 days).
- ``organisation_certificate.added_by_id`` becomes NULL-able and ``added_by_client_id``
  (INTEGER NULL → api_client, indexed) is added: a certificate an obligee's own system
  looked up was put on the list by no user.

No stored revision, signature or audit entry is touched; ``certificate`` and
``organisation_certificate`` are summary tables, not evidence.
"""
from __future__ import annotations

import json

import peewee as pw

from ..accounts.prefectures import prefecture_of_code

SQLITE = [
    'CREATE TABLE IF NOT EXISTS "obligee_contract" ("id" INTEGER NOT NULL PRIMARY KEY, "organisation_id" INTEGER NOT NULL, "certificate_id" INTEGER NOT NULL, "contract_amount" INTEGER, "contract_date" DATE, "period_start" DATE, "period_end" DATE, "work_name" VARCHAR(300), "recorded_at" DATETIME NOT NULL, "recorded_by" VARCHAR(200) NOT NULL, "checked_revision" INTEGER NOT NULL, "failed_checks" VARCHAR(400) NOT NULL, FOREIGN KEY ("organisation_id") REFERENCES "organisation" ("id"), FOREIGN KEY ("certificate_id") REFERENCES "certificate" ("id"))',
]
POSTGRESQL = [
    'CREATE TABLE IF NOT EXISTS "obligee_contract" ("id" SERIAL NOT NULL PRIMARY KEY, "organisation_id" INTEGER NOT NULL, "certificate_id" INTEGER NOT NULL, "contract_amount" BIGINT, "contract_date" DATE, "period_start" DATE, "period_end" DATE, "work_name" VARCHAR(300), "recorded_at" TIMESTAMP NOT NULL, "recorded_by" VARCHAR(200) NOT NULL, "checked_revision" INTEGER NOT NULL, "failed_checks" VARCHAR(400) NOT NULL, FOREIGN KEY ("organisation_id") REFERENCES "organisation" ("id"), FOREIGN KEY ("certificate_id") REFERENCES "certificate" ("id"))',
]
INDEXES = [
    'CREATE INDEX IF NOT EXISTS "obligee_contract_organisation_id" ON "obligee_contract" ("organisation_id")',
    'CREATE INDEX IF NOT EXISTS "obligee_contract_certificate_id" ON "obligee_contract" ("certificate_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "obligee_contract_organisation_id_certificate_id" ON "obligee_contract" ("organisation_id", "certificate_id")',
]


class _ApiClient(pw.Model):
    """Frozen: what the new foreign key needs to know of ``api_client``."""

    class Meta:
        table_name = "api_client"


class _Listing(pw.Model):
    """Frozen: the column this migration adds to ``organisation_certificate``."""

    added_by_client = pw.ForeignKeyField(_ApiClient, field="id", null=True)

    class Meta:
        table_name = "organisation_certificate"


def up(ctx) -> None:
    for statement in (POSTGRESQL if ctx.is_postgresql else SQLITE) + INDEXES:
        ctx.database.execute_sql(statement)
    m = ctx.migrator
    ctx.run(
        m.add_column("organisation", "prefecture", pw.CharField(max_length=8, null=True)),
        m.add_column("certificate", "guarantee_period_end", pw.DateField(null=True)),
        m.add_index("certificate", ("guarantee_period_end",)),
        m.drop_not_null("organisation_certificate", "added_by_id"),
        # A ForeignKeyField adds the REFERENCES clause (inline on SQLite, a constraint on
        # PostgreSQL) and its index.
        m.add_column("organisation_certificate", "added_by_client_id",
                     _Listing.added_by_client),
    )
    _fill_prefectures(ctx)
    _fill_guarantee_period_ends(ctx)


def _param(ctx) -> str:
    return "%s" if ctx.is_postgresql else "?"


def _fill_prefectures(ctx) -> None:
    rows = ctx.database.execute_sql(
        "SELECT \"id\", \"code\" FROM \"organisation\" WHERE \"kind\" = 'obligee'").fetchall()
    for org_id, code in rows:
        ctx.database.execute_sql(
            f'UPDATE "organisation" SET "prefecture" = {_param(ctx)} WHERE "id" = {_param(ctx)}',
            (prefecture_of_code(code), org_id))


def _current_documents(ctx):
    """(certificate id, current visible document) per certificate, by the revision rules
    as they stand at this migration (frozen here: a correction or a change cancellation
    hides the revision it names; the current one is the newest visible)."""
    cursor = ctx.database.execute_sql(
        'SELECT "certificate_id", "number", "kind", "supersedes", "canonical" FROM "revision" '
        'ORDER BY "certificate_id", "number"')
    by_certificate: dict[int, list] = {}
    for certificate_id, number, kind, supersedes, canonical in cursor.fetchall():
        by_certificate.setdefault(certificate_id, []).append((number, kind, supersedes, canonical))
    for certificate_id, revisions in by_certificate.items():
        hidden = {s for _, kind, s, _ in revisions
                  if kind in ("correction", "change_cancellation") and s is not None}
        current = [r for r in revisions if r[0] not in hidden][-1]
        yield certificate_id, json.loads(bytes(current[3]))


def _fill_guarantee_period_ends(ctx) -> None:
    for certificate_id, document in _current_documents(ctx):
        ctx.database.execute_sql(
            f'UPDATE "certificate" SET "guarantee_period_end" = {_param(ctx)} '
            f'WHERE "id" = {_param(ctx)}',
            (document["guarantee_period"]["end"], certificate_id))
