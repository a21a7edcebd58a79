"""The rows `audit verify` holds to the trail, read a certificate at a time (integrity.py).

Two streams in contract-number order, merged: the stored revisions with their
certificate, obligee and signing key; and the acceptance and reissue events of the
trail. Neither is held whole, so memory stays that of one certificate however many are
stored. Both sort by the same key in the same byte order (PostgreSQL: COLLATE "C";
SQLite compares text bytewise), which is Python's order of the same strings, with
rows without a contract number last.
"""
from __future__ import annotations

import collections
import itertools
from typing import Iterator

from peewee import SQL, NodeList

from .streaming import batches
from ..db import is_postgresql
from ..models import AuditEvent, Certificate, Organisation, Revision, SigningKey

RECORDED_KINDS = ("revision.accepted", "auth_key.reissued")

_STORED = (Revision.number, Revision.kind, Revision.supersedes, Revision.canonical,
           Revision.signature, Revision.arrived_at, Certificate.contract_number,
           Certificate.product, Certificate.latest_revision, Certificate.current_revision,
           Certificate.auth_key_digest, Organisation.code, SigningKey.public_key,
           SigningKey.key_id)

StoredRevision = collections.namedtuple(
    "StoredRevision", "number kind supersedes canonical signature arrived_at contract_number "
                      "product latest_revision current_revision auth_key_digest obligee_code "
                      "public_key key_id")


def _by_number(column) -> list:
    ordered = NodeList((column, SQL('COLLATE "C"'))) if is_postgresql() else column
    return [column.is_null(), ordered]


def key(contract_number) -> tuple[bool, str]:
    """The merge's order of a contract number: the databases' order above."""
    if contract_number is None:
        return (True, "")
    return (False, contract_number if type(contract_number) is str else str(contract_number))


def stored_revisions() -> Iterator[StoredRevision]:
    """Every stored revision, by contract number then revision number, its values
    converted as peewee would (a date and time read back from SQLite's text, say)."""
    query = (Revision.select(*_STORED)
             .join_from(Revision, Certificate)
             .join_from(Certificate, Organisation, on=(Certificate.obligee == Organisation.id))
             .join_from(Revision, SigningKey)
             .order_by(*_by_number(Certificate.contract_number), Revision.number))
    convert = [field.python_value for field in _STORED]
    for rows in batches(query, size=500):  # revisions carry their documents: smaller batches
        for row in rows:
            yield StoredRevision(*[c(v) for c, v in zip(convert, row)])


def recorded_events() -> Iterator[tuple]:
    """(seq, kind, contract number, details) of the events the revisions are held to,
    by contract number, then in the order they were recorded."""
    query = (AuditEvent.select(AuditEvent.seq, AuditEvent.kind, AuditEvent.contract_number,
                               AuditEvent.details)
             .where(AuditEvent.kind.in_(RECORDED_KINDS))
             .order_by(*_by_number(AuditEvent.contract_number), AuditEvent.seq))
    for rows in batches(query, size=2_000):
        yield from rows


def merged(stored: Iterator[StoredRevision], recorded: Iterator[tuple]
           ) -> Iterator[tuple[object, list[StoredRevision], object]]:
    """(contract number, its stored revisions, what ``recorded`` yields for it) for each
    number with either; ``recorded`` yields (contract number, anything) in ``key`` order."""
    groups = itertools.groupby(stored, key=lambda row: row.contract_number)
    left, right = next(groups, None), next(recorded, None)
    while left is not None or right is not None:
        if right is None or (left is not None and key(left[0]) < key(right[0])):
            yield left[0], list(left[1]), None
            left = next(groups, None)
        elif left is None or key(right[0]) < key(left[0]):
            yield right[0], [], right[1]
            right = next(recorded, None)
        else:
            yield left[0], list(left[1]), right[1]
            left, right = next(groups, None), next(recorded, None)
