"""Reading a whole table in order without holding it, for `audit verify`.

peewee builds a model (or converts every value) per row; over a million audit entries
that costs more than the hashing it feeds. Here a query's rows come back as the
driver's own tuples, a batch at a time: on PostgreSQL from a server-side (named)
cursor, so the server keeps the result and sends it in slices; on SQLite from
``fetchmany``, which steps the statement as it goes. Either way the process holds one
batch, whatever the table's size.

The caller gets raw driver values: peewee's field conversions do not run (a DateTimeField
stored by SQLite comes back as text, for instance), so convert what needs converting.
"""
from __future__ import annotations

import contextlib
import itertools
from typing import Iterator

from ..db import database, is_postgresql

BATCH = 5_000  # rows per round trip; a few MiB of audit entries at most

_names = itertools.count(1)


@contextlib.contextmanager
def _cursor(binary: bool):
    if is_postgresql():
        # A named cursor lives in the transaction; the name only has to be unique in it.
        cursor = database.connection().cursor(name=f"dsure_stream_{next(_names)}",
                                              binary=binary)
    else:
        cursor = database.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def batches(query, *, size: int | None = None) -> Iterator[list[tuple]]:
    """The rows of a peewee ``query`` as lists of plain tuples, in the query's order.

    Runs in one transaction (the caller's, or one of its own), so every batch comes from
    the same snapshot: on SQLite (WAL) a read transaction sees one; on PostgreSQL the
    cursor's statement does. Close the generator (or exhaust it) to end the read.
    """
    sql, params = query.sql()
    return sql_batches(sql, params, size=size)


def sql_batches(sql: str, params=(), *, size: int | None = None,
                binary: bool = False) -> Iterator[list[tuple]]:
    """``batches`` of a statement written for the engine at hand. ``binary`` asks
    PostgreSQL for its binary format (bytea as bytes, not hex to decode)."""
    size = size or BATCH
    # Inside the caller's transaction as it is: two streams read side by side must not
    # each open (and close, in whatever order they end) a savepoint of their own.
    outer = contextlib.nullcontext() if database.in_transaction() else database.atomic()
    with outer, _cursor(binary) as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield rows


def tuples(query, *, size: int | None = None) -> Iterator[tuple]:
    """The same rows one at a time, for walks where a generator step per row is cheap
    next to the work done on each row."""
    for rows in batches(query, size=size):
        yield from rows
