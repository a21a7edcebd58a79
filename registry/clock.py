"""Time, injectable. Registry functions take ``clock=`` so tests can fix the time."""
from __future__ import annotations

import datetime as dt
from typing import Callable

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Naive UTC, microsecond precision: what both databases store unchanged."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def isoformat(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_isoformat(text: str) -> dt.datetime:
    """The inverse of ``isoformat``; ValueError or TypeError when ``text`` is not one."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
