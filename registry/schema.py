"""Creating the schema, idempotently, with the guards that keep evidence insert-only."""
from __future__ import annotations

from .db import database, is_postgresql
from .models import CORE_MODELS, AuditEvent, Revision

# Evidence tables: no UPDATE, no DELETE, whoever asks. An attacker with the database
# owner's rights can drop these, which is why `audit verify` re-checks everything.
_INSERT_ONLY = [Revision._meta.table_name, AuditEvent._meta.table_name,
                "checkpoint", "verification_run"]


def all_models() -> list:
    from . import accounts, checkpoints, denials, portfolio, throttle, verification_runs
    return (CORE_MODELS + accounts.MODELS + throttle.MODELS + portfolio.MODELS
            + checkpoints.MODELS + verification_runs.MODELS + denials.MODELS)


def _sqlite_guards(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END",
    ]


def _postgresql_guards(table: str) -> list[str]:
    return [
        "CREATE OR REPLACE FUNCTION dsure_refuse_change() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION '%% rows are immutable', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
        f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}",
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION dsure_refuse_change()",
    ]


def create_schema() -> None:
    with database.atomic():
        database.create_tables(all_models(), safe=True)
        for table in _INSERT_ONLY:
            guards = _postgresql_guards(table) if is_postgresql() else _sqlite_guards(table)
            for statement in guards:
                database.execute_sql(statement)
