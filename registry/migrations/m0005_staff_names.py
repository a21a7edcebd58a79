"""Migration 5: a staff member's name (氏名) and section (所属), shown in the admin's
staff list. Existing accounts get empty text, which the list shows as 「—」."""
from __future__ import annotations

COLUMNS = ("name", "section")


def up(ctx) -> None:
    for column in COLUMNS:
        ctx.database.execute_sql(
            f'ALTER TABLE "user" ADD COLUMN "{column}" VARCHAR(100) NOT NULL DEFAULT \'\'')
