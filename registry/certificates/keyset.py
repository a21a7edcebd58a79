"""Keyset (seek) paging of an organisation's list (issue 11 §2).

The list is ordered by (certificate_updated_at DESC, certificate_id DESC) from the index
(organisation_id, certificate_updated_at, certificate_id) on ``organisation_certificate``.
A page starts after or before a row's key, never at an OFFSET, so page 1 and the last
page cost the same at 10k and at 1M listed certificates: the database seeks to the key
and reads one page of the index.

A cursor is the key written as ``YYYYmmddHHMMSSffffff-ID``: opaque to a reader of the
URL but readable when debugging, and it points at a row, not at a position, so a page
link stays right while certificates arrive.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

_TOKEN = re.compile(r"(\d{20})-(\d{1,18})")


@dataclasses.dataclass(frozen=True)
class Cursor:
    """One row's place in the list order."""

    updated_at: dt.datetime
    certificate_id: int

    @property
    def token(self) -> str:
        return f"{self.updated_at:%Y%m%d%H%M%S%f}-{self.certificate_id}"


def parse(token: str | None) -> Cursor | None:
    """The cursor a token names; None for anything else (a bad link is the first page,
    never an error from the database)."""
    if not token:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    try:
        updated_at = dt.datetime.strptime(match.group(1), "%Y%m%d%H%M%S%f")
    except ValueError:
        return None
    return Cursor(updated_at, int(match.group(2)))


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a page starts: ``after`` (older than that row: the next page), ``before``
    (newer than that row: the previous page), ``last`` (the oldest rows), or nothing
    (the newest rows: the first page)."""

    after: Cursor | None = None
    before: Cursor | None = None
    last: bool = False

    @property
    def descending(self) -> bool:
        """Which way the query reads the index; a page read ascending is reversed."""
        return self.before is None and not self.last

    @property
    def is_first(self) -> bool:
        return self.after is None and self.before is None and not self.last


FIRST = Position()


def position(*, after: str | None = None, before: str | None = None,
             last: bool = False) -> tuple[Position, bool]:
    """(the position the query arguments name, whether one of them was unreadable);
    an unreadable cursor is the first page."""
    if last:
        return Position(last=True), False
    if after:
        cursor = parse(after)
        return (Position(after=cursor), False) if cursor else (FIRST, True)
    if before:
        cursor = parse(before)
        return (Position(before=cursor), False) if cursor else (FIRST, True)
    return FIRST, False
