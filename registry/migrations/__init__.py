"""Versioned schema migrations: the only way the schema changes (DESIGN §11).

Each migration is a module ``mNNNN_<name>.py`` here with ``up(ctx)``; the number is its
version. ``upgrade()`` applies the ones a database lacks, in order, each in its own
serialised transaction with the row that records it, so a failed step leaves the
database at the previous version and two instances upgrading at once apply each step
exactly once. ``init-db`` is ``upgrade()`` from nothing.

Tool: ``playhouse.migrate`` (ships inside peewee) with our own version table. Chosen
over peewee-migrate because the steps that matter here are explicit and engine-aware
(insert-only triggers, frozen DDL of the pre-migration release), and a hand-written
step per change is easier to review than one generated from a model diff.

Steps never read the live models (they go on changing): tables are created from the
frozen statements peewee made when the step was written, per engine. Never edit a step
that has been released; change the schema with a new one.

A database made before migrations existed (release c4b2047) has every table and no
version table: it is adopted as version 1, after checking that the tables are there.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import pkgutil
from typing import Callable

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

from ..db import database, is_postgresql, write_transaction
from ..errors import RegistryError

VERSION_TABLE = "schema_migration"
# Tables every release since c4b2047 has had: their presence marks a pre-migration database.
RELEASE_TABLES = ("organisation", "api_client", "signing_key", "certificate", "revision",
                  "audit_event", "user", "user_session", "otp_code_use", "failure",
                  "organisation_certificate", "certificate_view", "checkpoint",
                  "verification_run")


class SchemaRefused(RegistryError):
    """The database is in a state no migration should touch."""


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Callable


@dataclasses.dataclass(frozen=True)
class Context:
    """What a step gets: the database, its engine, and a playhouse migrator for it."""

    database: pw.Database
    is_postgresql: bool
    migrator: SchemaMigrator

    def run(self, *operations) -> None:
        from playhouse.migrate import migrate
        migrate(*operations)

    def execute(self, *, sqlite: list[str], postgresql: list[str]) -> None:
        """Frozen statements of this engine (DDL as peewee made it when the step was
        written: a step never reads the live models, which go on changing)."""
        for statement in postgresql if self.is_postgresql else sqlite:
            self.database.execute_sql(statement)

    def make_insert_only(self, table: str) -> None:
        """Evidence tables refuse UPDATE and DELETE, whoever asks."""
        for statement in insert_only_guards(table, postgresql=self.is_postgresql):
            self.database.execute_sql(statement)


def insert_only_guards(table: str, *, postgresql: bool) -> list[str]:
    if postgresql:
        return [
            "CREATE OR REPLACE FUNCTION dsure_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '%% rows are immutable', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
            f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}",
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION dsure_refuse_change()",
        ]
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END",
    ]


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not (info.name.startswith("m") and info.name[1:5].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(info.name[1:5]), info.name[6:], module.up))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions must run 1..n without gaps: {versions}")
    return found


def _context() -> Context:
    db = database.obj
    migrator = PostgresqlMigrator(db) if is_postgresql() else SqliteMigrator(db)
    return Context(database=db, is_postgresql=is_postgresql(), migrator=migrator)


def _ensure_version_table() -> None:
    database.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{VERSION_TABLE}" ("version" INTEGER NOT NULL PRIMARY KEY, '
        f'"name" VARCHAR(100) NOT NULL, "applied_at" VARCHAR(40) NOT NULL)')


def applied_versions() -> list[int]:
    """The versions recorded in the database (empty for a new or pre-migration one)."""
    if not database.table_exists(VERSION_TABLE):
        return []
    cursor = database.execute_sql(f'SELECT "version" FROM "{VERSION_TABLE}" ORDER BY "version"')
    return [row[0] for row in cursor.fetchall()]


def current_version() -> int:
    versions = applied_versions()
    return versions[-1] if versions else 0


def head_version() -> int:
    return all_migrations()[-1].version


def _record(migration: Migration) -> None:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    database.execute_sql(
        f'INSERT INTO "{VERSION_TABLE}" ("version", "name", "applied_at") VALUES (?, ?, ?)'
        .replace("?", "%s" if is_postgresql() else "?"),
        (migration.version, migration.name, now))


def _adopt_pre_migration_database(first: Migration) -> bool:
    """A database with the release's tables but no version rows was made before
    migrations: it already is at version 1. A partial one is refused, not guessed at."""
    present = [t for t in RELEASE_TABLES if database.table_exists(t)]
    if not present:
        return False
    missing = sorted(set(RELEASE_TABLES) - set(present))
    if missing:
        raise SchemaRefused("the database has some of the tables of an earlier release but not "
                           f"{', '.join(missing)}; refusing to guess its version")
    _record(first)
    return True


@dataclasses.dataclass(frozen=True)
class Upgrade:
    before: int
    after: int
    applied: tuple[str, ...]
    adopted: bool

    @property
    def changed(self) -> bool:
        return bool(self.applied) or self.adopted


def upgrade() -> Upgrade:
    """Bring the bound database to the newest schema. Safe to run again: it then changes
    nothing. Upgrading a database that held data is audited (``schema.upgraded``)."""
    migrations = all_migrations()
    with write_transaction():
        _ensure_version_table()
        before = current_version()
        adopted = before == 0 and _adopt_pre_migration_database(migrations[0])
    applied = []
    for migration in migrations:
        with write_transaction():
            # Re-read under the lock: another instance may have applied it meanwhile.
            if migration.version in applied_versions():
                continue
            migration.up(_context())
            _record(migration)
            applied.append(f"{migration.version:04d}_{migration.name}")
    result = Upgrade(before=before, after=current_version(), applied=tuple(applied),
                     adopted=adopted)
    if before > 0 or adopted:
        _audit(result)
    return result


def _audit(result: Upgrade) -> None:
    if not result.applied:
        return
    from ..audit.chain import record
    with write_transaction():
        record("schema.upgraded", actor="operator", organisation_code=None,
               details={"from_version": 1 if result.adopted else result.before,
                        "to_version": result.after, "applied": list(result.applied)})
