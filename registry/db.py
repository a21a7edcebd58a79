"""The one database handle of the registry and how writes take it.

SQLite is the embedded default, PostgreSQL the production engine. Every write that
appends to the audit chain must be serialised (the chain head is read, then extended),
so writes go through ``write_transaction()``, which takes the right lock per engine.
"""
from __future__ import annotations

import contextlib
import os
from urllib.parse import urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = peewee.DatabaseProxy()

# Arbitrary but fixed: the advisory lock that serialises chain appends on PostgreSQL.
AUDIT_CHAIN_LOCK = 0x64737572

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 30_000,
    "synchronous": "normal",
}


def open_database(url: str) -> peewee.Database:
    """Bind the registry to the database at ``url`` (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql"):
        db = PooledPostgresqlDatabase(
            url.replace("postgres://", "postgresql://", 1),
            max_connections=32,
            stale_timeout=300,
            timeout=30,
        )
    elif parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Pooled: closing the last SQLite connection checkpoints the WAL; keep them.
        db = PooledSqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, max_connections=32, stale_timeout=300,
            timeout=30, check_same_thread=False,
        )
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.scheme!r}")
    previous = database.obj
    if previous is not None and hasattr(previous, "close_all"):
        previous.close_all()  # rebinding (tests, CLI) must not leak the old pool's connections
    database.initialize(db)
    return db


def is_postgresql() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


@contextlib.contextmanager
def write_transaction():
    """A transaction that may append to the audit chain, serialised against all others.

    SQLite: BEGIN IMMEDIATE takes the write lock up front, so two writers never both
    read the same chain head and then fail to upgrade ("database is locked").
    PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback.
    """
    if database.in_transaction():
        # Nested inside an outer write: the outer one already holds the lock.
        with database.atomic():
            yield
        return
    if is_postgresql():
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (AUDIT_CHAIN_LOCK,))
            yield
    else:
        with database.atomic(lock_type="IMMEDIATE"):
            yield


def insert_rows(model, rows: list[dict]) -> None:
    """Insert many rows of one shape (dicts with the same keys) with one prepared
    statement run for each (DB-API executemany), inside the caller's transaction. For
    bulk loads: a multi-row INSERT through peewee's query builder cost more than the
    database's own work."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([model._meta.database.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    values = [tuple(field.db_value(row[field.name]) for field in fields) for row in rows]
    model._meta.database.cursor().executemany(sql, values)
