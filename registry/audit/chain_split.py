"""The chain walk split over several processes, for auditors with spare cores.

Each entry's hash covers only its own stored fields, and a link is a comparison of two
neighbours, so the log can be walked in consecutive parts at once. Part ``i`` walks
from its first entry ``bounds[i]`` through ``bounds[i + 1]``, the first entry of the
next part: the entry on each boundary is walked twice, so every link, including the
one into the next part, is checked by the part before it. Part 0 runs here, in the
caller's transaction; the others in forked processes with connections of their own.

The verdict is the same as one walk's: the parts report in chain order and the first
part with a break (or an unreadable value) is the answer. A part's entries up to its
break are all entries the single walk checks first, and a part never names an entry
before its own first one, which the part before it has walked in full. That is also
why a part may take its first entry's prev_hash as given (``walk(prev=None)``): if
that link is wrong, the part before names it, and its verdict comes first.

This hides the per-entry cost behind a second core rather than removing it: the one-
process walk (chain_walk.py) stays the default and the reference. Measured 2026-12-03
at 200,000 entries (bench/audit.py, µs an entry, one process → two): SQLite 5.94 → 3.12,
PostgreSQL 5.49 → 4.23 (the server's own work shares the two cores); with both cores
already busy with other runs it was slower than one process (1.44-1.49x the baseline
against 1.38x).

The other processes are forked: call it from a process whose other threads (if any)
hold no lock the walk needs, as `audit verify` does. They do not see the caller's own
uncommitted writes (nor, on SQLite, anything but committed rows).

On PostgreSQL the other processes read the caller's own snapshot (pg_export_snapshot);
on SQLite each reads its own, which differs from the caller's only by entries appended
since, and the parts are bounded by entries that exist in the caller's snapshot.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from playhouse.pool import PooledDatabase

from .chain_walk import ChainBreak, _columns, walk
from .streaming import BATCH, batches
from ..db import database, is_postgresql
from ..models import AuditEvent

MIN_PER_PROCESS = 50_000  # below this a fork and a connection cost more than they save


def _seq_at(offset: int):
    return (AuditEvent.select(AuditEvent.seq).order_by(AuditEvent.seq)
            .offset(offset).limit(1).scalar())


def split_bounds(processes: int) -> list:
    """The first entry of each part (existing seqs, in order); one part if the log is
    too short to be worth splitting."""
    count = AuditEvent.select().count()
    processes = max(1, min(processes, count // MIN_PER_PROCESS))
    return [_seq_at(count * i // processes) for i in range(processes)]


def _part(first, last):
    """Part's rows in seq order: from ``first`` (None: the log's start) through ``last``
    (None: its end), both inclusive."""
    query = AuditEvent.select(*_columns()).order_by(AuditEvent.seq)
    if first is not None:
        query = query.where(AuditEvent.seq >= first)
    if last is not None:
        query = query.where(AuditEvent.seq <= last)
    return query


def _fresh_connection():
    """A driver connection of its own, with the registry's settings: the pool's
    connections (and their sockets) belong to the parent process."""
    db = database.obj
    connect = super(PooledDatabase, db)._connect if isinstance(db, PooledDatabase) else db._connect
    return connect()


def _rows(connection, query_sql, params, snapshot, size) -> Iterator[list[tuple]]:
    if snapshot is not None:
        from psycopg import sql  # PostgreSQL only
        # The same snapshot as the caller's transaction: the statement must come first.
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        connection.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        cursor = connection.cursor(name="dsure_chain_part")
    else:
        cursor = connection.cursor()  # SQLite: one statement reads one snapshot
    cursor.execute(query_sql, params)
    while rows := cursor.fetchmany(size):
        yield rows


def _walk_part(pipe, query_sql, params, seq, snapshot, size) -> None:
    """In the forked process: walk one part and send back its first break (or None),
    or the exception that stopped it."""
    try:
        connection = _fresh_connection()
        try:
            found = next(walk(_rows(connection, query_sql, params, snapshot, size),
                              seq=seq, prev=None), None)
        finally:
            connection.close()
        pipe.send(("break", found))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it in chain order
        try:
            pipe.send(("raised", exc))
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            pipe.send(("raised", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        pipe.close()


def _start(bounds, index, snapshot, size):
    last = bounds[index + 1] if index + 1 < len(bounds) else None
    import multiprocessing  # only a split walk needs it; a serving worker never does
    query_sql, params = _part(bounds[index], last).sql()
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(
        target=_walk_part, args=(send, query_sql, params, bounds[index], snapshot, size),
        daemon=True)
    process.start()
    send.close()
    return process, receive


def _result(process, receive) -> ChainBreak | None:
    try:
        kind, value = receive.recv()
    except EOFError:
        raise RuntimeError(f"the chain walk's process {process.pid} ended without an answer")
    finally:
        receive.close()
        process.join()
    if kind == "raised":
        raise value
    return value


def _stop(workers) -> None:
    for process, receive in workers:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()


def shareable() -> bool:
    """Whether other processes can open the database (not an in-memory SQLite)."""
    return is_postgresql() or database.obj.database not in ("", ":memory:")


def split_breaks(processes: int, *, size: int | None = None) -> Iterator[ChainBreak]:
    """The first break of the chain (then stop), walked in up to ``processes`` parts at
    once: part 0 here, the others in processes of their own (see shareable())."""
    size = size or BATCH
    outer = contextlib.nullcontext() if database.in_transaction() else database.atomic()
    with outer:
        bounds = split_bounds(processes)
        snapshot = (database.execute_sql("SELECT pg_export_snapshot()").fetchone()[0]
                    if is_postgresql() else None)
        workers = [_start(bounds, i, snapshot, size) for i in range(1, len(bounds))]
        try:
            last = bounds[1] if len(bounds) > 1 else None
            with contextlib.closing(batches(_part(None, last), size=size)) as rows:
                found = next(walk(rows), None)
            for process, receive in workers:
                if found is not None:
                    break
                found = _result(process, receive)
        finally:
            _stop(workers)
    if found is not None:
        yield found
