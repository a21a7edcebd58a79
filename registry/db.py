"""The one database handle of the registry and how writes take it.

SQLite is the embedded default, PostgreSQL the production engine. Every write that
appends to the audit chain must be serialised (the chain head is read, then extended),
so writes go through ``write_transaction()``, which takes the right lock per engine.
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
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


@functools.cache
def _planned_each_time_cursor() -> type:
    """A psycopg cursor class whose statements are sent unprepared, whatever the caller
    asks: psycopg otherwise prepares a statement on its fifth run on a connection.
    Made on first use: a worker serving SQLite may run without psycopg (wsgi.py)."""
    import psycopg

    class PlannedEachTimeCursor(psycopg.Cursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=False, binary=binary)

    return PlannedEachTimeCursor


class _PostgresqlPool(PooledPostgresqlDatabase):
    """peewee's pool pings every PostgreSQL connection it hands out (SELECT 1): a round
    trip on every request. A connection handed back within the last PING_AFTER seconds,
    idle, is handed out again without one; a connection idle for longer is pinged as
    before. So a connection the server dropped while it sat unused is replaced as
    before, but one dropped within PING_AFTER of its last use (a server restart under
    traffic) fails the one request that meets it."""

    PING_AFTER = 10.0

    def __init__(self, *args, **kwargs):
        self._returned_at: dict[int, float] = {}
        super().__init__(*args, **kwargs)

    def _close(self, conn, close_conn=False):
        super()._close(conn, close_conn)
        if close_conn:
            self._returned_at.pop(self.conn_key(conn), None)
        else:
            self._returned_at[self.conn_key(conn)] = time.monotonic()

    def begin(self, isolation_level=None, chain_lock: bool = False):
        """BEGIN, and with ``chain_lock`` the chain's advisory lock in the same round
        trip: one simple query of two statements (no parameters, so the driver sends it
        as it is)."""
        if not chain_lock:
            return super().begin(isolation_level)
        with peewee.__exception_wrapper__:
            self.cursor().execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(AUDIT_CHAIN_LOCK)})")

    def cursor(self, named_cursor=None, planned_each_time=False):
        """peewee's cursor; with ``planned_each_time`` one that psycopg never prepares on
        the server, so PostgreSQL plans its statement for its values on every run
        (execute_planned_each_time). Passed through peewee's own ``_execute_cursor``, so
        its logging and query hooks see the statement as any other."""
        if not planned_each_time:
            return super().cursor(named_cursor)
        return _planned_each_time_cursor()(self.connection())  # connects when closed

    def _is_closed(self, conn):
        returned = self._returned_at.pop(self.conn_key(conn), None)
        if (returned is not None and time.monotonic() - returned < self.PING_AFTER
                and not conn.closed
                and self._adapter.txn_status(conn) == self._adapter.txn_idle):
            return False
        return super()._is_closed(conn)


def open_database(url: str) -> peewee.Database:
    """Bind the registry to the database at ``url`` (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql"):
        db = _PostgresqlPool(
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


def execute_planned_each_time(sql: str, params):
    """Run ``sql`` planned for these values every time, never from a plan PostgreSQL
    cached for the connection. For a statement whose best plan depends on how many rows
    a table that grows with use holds: psycopg prepares a statement on its fifth run,
    and PostgreSQL may then switch to a generic plan made while that table was empty by
    its statistics and keep it, however the table grows, until the next ANALYZE. The
    menu's counts did just that (bench, 10k world: 6 ms a page, then 350 ms after 800
    views). SQLite plans each statement from its own statistics: nothing to do there."""
    if is_postgresql():
        return database.obj._execute_cursor(sql, params, planned_each_time=True)
    return database.execute_sql(sql, params)


@contextlib.contextmanager
def write_transaction():
    """A transaction that may append to the audit chain, serialised against all others.

    SQLite: BEGIN IMMEDIATE takes the write lock up front, so two writers never both
    read the same chain head and then fail to upgrade ("database is locked").
    PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback,
    taken in the same round trip as BEGIN (_PostgresqlPool.begin).
    """
    if database.in_transaction():
        # Nested inside an outer write: the outer one already holds the lock.
        with database.atomic():
            yield
        return
    if is_postgresql():
        with database.atomic(chain_lock=True):
            yield
    else:
        with database.atomic(lock_type="IMMEDIATE"):
            yield


def joining_write_transaction():
    """The caller's transaction as it is (it already holds the lock: write_transaction),
    or a write transaction of our own. No savepoint inside the caller's, which costs two
    statements: for a step of one or two statements whose failure must fail the
    caller's whole write with it."""
    return contextlib.nullcontext() if database.in_transaction() else write_transaction()


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
