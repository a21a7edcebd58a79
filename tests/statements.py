"""Count the SQL statements the registry sends, so a test can pin a hot path's cost
("the certificate page runs at most N statements") without timing anything.

    with counted_statements() as seen:
        client.get("/certificates/10001-000001")
    assert len(seen) <= 9, seen.listing()

Every query peewee runs goes through ``Database._execute_cursor`` (``execute_sql`` and
server-side cursors alike); this wraps it on the bound database for the block.
Transaction control is not counted, so one ceiling holds on both engines: SQLite's
BEGIN IMMEDIATE does not pass through here, and PostgreSQL's equivalent, the chain's
advisory lock (registry.db.write_transaction), is left out to match.
"""
from __future__ import annotations

import contextlib

from registry.db import database

_TRANSACTION_CONTROL = "SELECT pg_advisory_xact_lock("


class Statements(list):
    """The SQL text of each statement run, in order."""

    def listing(self) -> str:
        return "\n".join(f"{i + 1:2}. {sql}" for i, sql in enumerate(self))


@contextlib.contextmanager
def counted_statements():
    db = database.obj
    seen = Statements()
    original = db._execute_cursor

    def counting(sql, params, **cursor_options):
        if not sql.startswith(_TRANSACTION_CONTROL):
            seen.append(sql)
        return original(sql, params, **cursor_options)

    db._execute_cursor = counting
    try:
        yield seen
    finally:
        del db._execute_cursor  # the class's own method again
