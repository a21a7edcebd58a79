"""Failure counts that lock out guessing (auth keys, passwords, one-time codes).

Kept in the database, not in process memory, so every gunicorn worker and every app
instance sees the same count. A row per failure; the window is a query.

A guess is counted as a failure *before* it is checked (``begin_attempt``) and the count
withdrawn when it turns out right, inside the serialised write transaction: otherwise
parallel requests all read the count below the limit, all run their slow check, and
together get far more guesses than the limit allows.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import peewee as pw

from ..clock import Clock, utcnow
from ..db import database, write_transaction
from ..models import BaseModel
from ..prepared import Prepared, Slot


class Failure(BaseModel):
    kind = pw.CharField(max_length=32)       # "lookup", "login"
    subject = pw.CharField(max_length=200)   # "user:12", "contract:10001-000001", "ip:…", "email:…"
    occurred_at = pw.DateTimeField()

    class Meta:
        indexes = ((("kind", "subject", "occurred_at"), False),)


MODELS = [Failure]


# Every lookup and sign-in runs these two; an attempt has a handful of subjects, so one
# compiled statement per count of them (registry.prepared).
@functools.cache
def _kept_failures(count: int) -> Prepared:
    return Prepared(lambda: Failure.select(Failure.id, Failure.subject, Failure.occurred_at)
                    .where(Failure.kind == Slot("kind"),
                           Failure.subject.in_([Slot(f"s{i}", Failure.subject)
                                                for i in range(count)])).tuples())


@functools.cache
def _failures_withdrawn(count: int) -> Prepared:
    return Prepared(lambda: Failure.delete().where(
        Failure.id.in_([Slot(f"id{i}", Failure.id) for i in range(count)])))


def locked_until(kind: str, subject: str, *, limit: int, window: dt.timedelta,
                 clock: Clock = utcnow) -> dt.datetime | None:
    """When ``subject`` has ``limit`` failures in the window: the moment the oldest of
    them leaves it (the lock lasts the rest of the window). Otherwise None."""
    since = clock() - window
    recent = (Failure.select(Failure.occurred_at)
              .where(Failure.kind == kind, Failure.subject == subject, Failure.occurred_at > since)
              .order_by(Failure.occurred_at.desc()).limit(limit))
    times = [row.occurred_at for row in recent]
    if len(times) < limit:
        return None
    return times[-1] + window


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One counted guess. ``locks`` names each subject already at its limit (and until
    when): then the guess must not be checked at all."""

    locks: dict[str, dt.datetime]
    failure_ids: tuple[int, ...] = ()

    @property
    def locked(self) -> bool:
        return bool(self.locks)

    @property
    def locked_until(self) -> dt.datetime | None:
        return max(self.locks.values()) if self.locks else None

    def withdraw(self) -> None:
        """The guess was right: it was not a failure after all."""
        if self.failure_ids:
            _failures_withdrawn(len(self.failure_ids)).execute(
                **{f"id{i}": row_id for i, row_id in enumerate(self.failure_ids)})


def begin_attempt(kind: str, limits: list[tuple[str, int]], *, window: dt.timedelta,
                  clock: Clock = utcnow) -> Attempt:
    """Check every (subject, limit) and, when none is locked, count the attempt as a
    failure of each, in one serialised transaction: read every failure kept for these
    subjects at once, forget those that left the window (a DELETE only when there are
    any), add the failures."""
    subjects = [subject for subject, _ in limits]
    with write_transaction():
        now = clock()
        since = now - window
        recent: dict[str, list[dt.datetime]] = {subject: [] for subject in subjects}
        expired = []
        # Few rows: a subject gains failures only while none of this attempt's subjects
        # is locked, so each holds about its limit in the window at most, and what left
        # the window is forgotten by the next attempt that reads it.
        kept = _kept_failures(len(subjects)).rows(
            kind=kind, **{f"s{i}": subject for i, subject in enumerate(subjects)})
        for row_id, subject, occurred_at in kept:
            if occurred_at > since:
                recent[subject].append(occurred_at)
            else:
                expired.append(row_id)
        if expired:
            Failure.delete().where(Failure.id.in_(expired)).execute()
        locks = {}
        for subject, limit in limits:
            until = _lock_end(recent[subject], limit, window)
            if until is not None:
                locks[subject] = until
        if locks:
            return Attempt(locks)
        ids = _add_failures(kind, subjects, now)
    return Attempt({}, ids)


def _lock_end(times: list[dt.datetime], limit: int, window: dt.timedelta) -> dt.datetime | None:
    """What locked_until says of these failure times (all in the window)."""
    if len(times) < limit:
        return None
    return sorted(times, reverse=True)[limit - 1] + window


def _add_failures(kind: str, subjects: list[str], now: dt.datetime) -> tuple[int, ...]:
    """One INSERT of a failure per subject; their ids (RETURNING: PostgreSQL and SQLite
    3.35+ both have it, though peewee uses it only on PostgreSQL)."""
    fields = (Failure.kind, Failure.subject, Failure.occurred_at)
    param = database.param
    row = "(" + ", ".join([param] * len(fields)) + ")"
    sql = (f'INSERT INTO "{Failure._meta.table_name}" '
           f'({", ".join(chr(34) + f.column_name + chr(34) for f in fields)}) '
           f'VALUES {", ".join([row] * len(subjects))} RETURNING "id"')
    values = [value for subject in subjects
              for value in (Failure.kind.db_value(kind), Failure.subject.db_value(subject),
                            Failure.occurred_at.db_value(now))]
    return tuple(row_id for row_id, in database.execute_sql(sql, values).fetchall())
