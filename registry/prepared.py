"""Queries built once per process and run again with new values (issue 11 §3).

peewee builds a query's SQL text anew on every execution; on the certificate page that
was over a third of the request (cProfile), more than the database's own work. A hot
read is therefore written once as an ordinary peewee query with ``Slot("name")`` where a
value goes, compiled to SQL the first time it runs on a database engine, and from then
on only its parameters are filled in:

    _SESSION = Prepared(lambda: UserSession.select().where(
        UserSession.token_digest == Slot("digest")).limit(1))
    row = _SESSION.first(digest=...)

Values pass through the same field conversion (``db_value``) a normal query applies, and
rows come back as the same model instances (joins included), through the query's own
cursor wrapper. The SQL differs between SQLite and PostgreSQL (placeholders, quoting), so
each engine compiles its own copy.
"""
from __future__ import annotations

import threading
from typing import Callable

import peewee as pw

from .db import database, execute_planned_each_time


class Slot(pw.ColumnBase):
    """A named value filled in when the prepared query runs."""

    def __init__(self, name: str, field: pw.Field | None = None):
        super().__init__()
        self.name = name
        self.field = field  # an INSERT's value has no comparison to take a converter from

    def __sql__(self, ctx):
        # The field on the other side of a comparison set the converter; keep it for the
        # value that will take this place.
        converter = self.field.db_value if self.field is not None else ctx.state.converter
        return ctx.value(_Filled(self.name, converter), converter=False)


def written_in(number: int) -> pw.SQL:
    """A whole number written into the SQL text instead of sent as a parameter, for a
    LIMIT that decides the plan. PostgreSQL plans ``ORDER BY … LIMIT $1`` as if the
    limit might be a tenth of the table; finding that generic plan dearer than one made
    for the value it is given, it plans the statement anew on every execution
    (pg_prepared_statements: custom_plans only). Written in, the plan is made once."""
    return pw.SQL(str(int(number)))


class _Filled:
    __slots__ = ("name", "converter")

    def __init__(self, name: str, converter):
        self.name = name
        self.converter = converter


class Prepared:
    """One query, built by ``build()`` (a callable returning a peewee query that uses
    ``Slot``s), compiled once per database engine. ``planned_each_time``: the database
    plans it for its values on every run (db.execute_planned_each_time says when)."""

    def __init__(self, build: Callable[[], pw.BaseQuery], *, planned_each_time: bool = False):
        self._build = build
        self._planned_each_time = planned_each_time
        self._compiled: dict[type, tuple] = {}
        self._row_makers: dict[type, object] = {}
        self._lock = threading.Lock()

    def _for_engine(self) -> tuple:
        engine = type(database.obj)
        compiled = self._compiled.get(engine)
        if compiled is None:
            with self._lock:
                query = self._build()
                sql, params = database.get_sql_context().sql(query).query()
                compiled = self._compiled[engine] = (query, sql, tuple(params))
        return compiled

    def cursor(self, values: dict):
        query, sql, params = self._for_engine()
        filled = [(p.converter(values[p.name]) if p.converter else values[p.name])
                  if isinstance(p, _Filled) else p for p in params]
        if self._planned_each_time:
            return query, execute_planned_each_time(sql, filled)
        return query, database.execute_sql(sql, filled)

    def rows(self, **values) -> list:
        """Every row, as the query would give them (model instances, tuples, dicts)."""
        query, cursor = self.cursor(values)
        rows = cursor.fetchall()
        if not rows:
            return []
        return [self._row_maker(query, cursor).process_row(row) for row in rows]

    def _row_maker(self, query, cursor):
        """peewee's cursor wrapper for this query, set up once per engine: working out
        which column goes to which model and converter (its ``initialize``) cost as much
        as making the rows, and depends only on the query, never on the values."""
        engine = type(database.obj)
        maker = self._row_makers.get(engine)
        if maker is None:
            maker = query._get_cursor_wrapper(cursor)
            maker.initialize()
            self._row_makers[engine] = maker
        return maker

    def first(self, **values):
        rows = self.rows(**values)
        return rows[0] if rows else None

    def row(self, **values) -> tuple | None:
        """The first row as the driver gives it (a tuple), None when there is none."""
        _, cursor = self.cursor(values)
        return cursor.fetchone()

    def tuples(self, **values) -> list[tuple]:
        """Every row as the driver gives it (tuples): for a write's RETURNING, say."""
        _, cursor = self.cursor(values)
        return cursor.fetchall()

    def scalar(self, **values):
        _, cursor = self.cursor(values)
        row = cursor.fetchone()
        return row[0] if row else None

    def execute(self, **values) -> int:
        """For a write: the number of rows it changed."""
        _, cursor = self.cursor(values)
        return cursor.rowcount

    def insert(self, **values) -> int:
        """For an INSERT of one row: its new primary key (PostgreSQL: peewee's model
        INSERT says RETURNING it; SQLite: the cursor's last row id)."""
        _, cursor = self.cursor(values)
        if cursor.description:
            return cursor.fetchone()[0]
        return cursor.lastrowid
