"""Migration 10: the organisation's list at any size (issue 11 §2).

- ``organisation_certificate.certificate_updated_at`` TIMESTAMP NOT NULL: the listed
  certificate's ``updated_at``, filled here from ``certificate``; from now on ingest
  keeps it fresh. The list is ordered by it, so the order lives in one table.
- index (organisation_id, certificate_updated_at, certificate_id): keyset paging reads a
  page of it from any cursor without sorting the list.
- index certificate (obligee_id, guarantee_period_end): the work queue's 「30日以内に
  満了」 reads a date range of one obligee's certificates.
- index obligee_contract (organisation_id, failed_checks): 「契約と不一致」 reads the
  organisation's failing records only (failed_checks > '').

No stored revision, signature or audit entry is touched; both tables are summaries.
Never edit this file: change the schema with a new migration.
"""
from __future__ import annotations

import peewee as pw

BACKFILL = (
    'UPDATE "organisation_certificate" SET "certificate_updated_at" = '
    '(SELECT "certificate"."updated_at" FROM "certificate" '
    'WHERE "certificate"."id" = "organisation_certificate"."certificate_id")'
)
INDEXES = [
    'CREATE INDEX IF NOT EXISTS "organisation_certificate_list_order" ON "organisation_certificate" '
    '("organisation_id", "certificate_updated_at", "certificate_id")',
    'CREATE INDEX IF NOT EXISTS "certificate_obligee_id_guarantee_period_end" ON "certificate" '
    '("obligee_id", "guarantee_period_end")',
    'CREATE INDEX IF NOT EXISTS "obligee_contract_organisation_id_failed_checks" '
    'ON "obligee_contract" ("organisation_id", "failed_checks")',
]


def up(ctx) -> None:
    m = ctx.migrator
    # Added NULL-able, filled, then made NOT NULL: no made-up default is ever stored.
    ctx.run(m.add_column("organisation_certificate", "certificate_updated_at",
                         pw.DateTimeField(null=True)))
    ctx.database.execute_sql(BACKFILL)
    ctx.run(m.add_not_null("organisation_certificate", "certificate_updated_at"))
    for statement in INDEXES:
        ctx.database.execute_sql(statement)
