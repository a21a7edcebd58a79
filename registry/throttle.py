"""Failure counts that lock out guessing (auth keys, passwords).

Kept in the database, not in process memory, so every gunicorn worker and every app
instance sees the same count. A row per failure; the window is a query.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from .clock import Clock, utcnow
from .models import BaseModel


class Failure(BaseModel):
    kind = pw.CharField(max_length=32)       # "lookup", "login"
    subject = pw.CharField(max_length=200)   # "user:12", "contract:10001-000001", "ip:…", "email:…"
    occurred_at = pw.DateTimeField()

    class Meta:
        indexes = ((("kind", "subject", "occurred_at"), False),)


MODELS = [Failure]


def record_failures(kind: str, subjects: list[str], *, clock: Clock = utcnow) -> None:
    now = clock()
    Failure.insert_many([{"kind": kind, "subject": s, "occurred_at": now} for s in subjects]).execute()


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
