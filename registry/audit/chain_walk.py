"""The walk `audit verify` makes over the whole chain: every entry's bytes rebuilt and
hashed, every link compared, in one pass over the rows as the driver returns them.

It is the one loop in the registry that runs a million times per call, so per entry it
does only what the check needs. Where it can, the database writes each entry's bytes
(RFC 8785 of the eight fields) in the SELECT itself: both engines quote JSON strings
exactly as RFC 8785 does (tests/registry/test_chain_walk.py holds them equal over every
code point), so Python only hashes and compares. Wherever the database's bytes are not
certainly RFC 8785's (SQLite: a value of another type than its column's; PostgreSQL: a
column whose type was changed), or their hash does not match, the entry's fields are
read and its bytes built here (``walk``, ``encoding.entry_bytes``) before anything is
called a break.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from json.encoder import encode_basestring  # the C encoder when available
from typing import Callable, Iterable, Iterator

from .encoding import entry_bytes
from .streaming import batches, sql_batches
from ..db import database, is_postgresql
from ..models import AuditEvent

GENESIS = "0" * 64


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def _columns():
    return (AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.kind, AuditEvent.actor,
            AuditEvent.organisation_code, AuditEvent.contract_number, AuditEvent.details,
            AuditEvent.prev_hash, AuditEvent.entry_hash)


def chain_rows(*, size: int | None = None) -> Iterator[list[tuple]]:
    """The audit log in ``seq`` order, in batches of plain tuples (see _columns)."""
    return batches(AuditEvent.select(*_columns()).order_by(AuditEvent.seq), size=size)


def _exact_bytes(seq, occurred_at, kind, actor, org, contract, details, prev) -> bytes:
    return entry_bytes(seq=seq, occurred_at=occurred_at, kind=kind, actor=actor,
                       organisation_code=org, contract_number=contract, details=details,
                       prev_hash=prev)


def walk(row_batches: Iterable[list[tuple]],
         start: tuple[int, str] = (1, GENESIS)) -> Iterator[ChainBreak]:
    """Yield the first break in the rows (then stop); nothing if the chain holds.
    ``start``: the first entry's seq and the prev_hash it must name."""
    expected_seq, expected_prev = start
    sha256, enc = hashlib.sha256, encode_basestring
    for rows in row_batches:
        for seq, occurred_at, kind, actor, org, contract, details, prev, stored in rows:
            if seq != expected_seq:
                yield ChainBreak(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
                return
            if prev != expected_prev:
                yield ChainBreak(seq, "prev_hash does not match the previous entry")
                return
            # prev equals the hash checked one entry ago (or GENESIS): 64 hex digits, which
            # JSON writes as they are. enc() raises TypeError for anything not a str.
            try:
                if type(seq) is not int:
                    raise TypeError
                body = (f'{{"actor":{enc(actor)},"contract_number":'
                        f'{"null" if contract is None else enc(contract)},'
                        f'"details":{enc(details)},"kind":{enc(kind)},'
                        f'"occurred_at":{enc(occurred_at)},"organisation_code":'
                        f'{"null" if org is None else enc(org)},'
                        f'"prev_hash":"{prev}","seq":{seq}}}').encode()
            except (TypeError, UnicodeEncodeError):
                body = _exact_bytes(seq, occurred_at, kind, actor, org, contract, details, prev)
            if sha256(body).hexdigest() != stored:
                yield ChainBreak(seq, "entry_hash does not match the entry's content")
                return
            expected_prev, expected_seq = stored, expected_seq + 1


def walk_bodies(row_batches: Iterable[list[tuple]],
                fields_of: Callable[[int], tuple]) -> Iterator[ChainBreak]:
    """``walk`` over rows of (seq, prev_hash, entry_hash, bytes written by the database
    or None); ``fields_of(seq)`` reads one entry's row as ``walk`` takes it, for the
    entries whose bytes are built here."""
    expected_prev, expected_seq = GENESIS, 1
    sha256 = hashlib.sha256
    for rows in row_batches:
        for seq, prev, stored, body in rows:
            if seq != expected_seq:
                yield ChainBreak(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
                return
            if prev != expected_prev:
                yield ChainBreak(seq, "prev_hash does not match the previous entry")
                return
            if body is None or sha256(body).hexdigest() != stored:
                # Not a break until the bytes built here say so.
                found = next(walk([[fields_of(seq)]], start=(seq, prev)), None)
                if found is not None:
                    yield found
                    return
            expected_prev, expected_seq = stored, expected_seq + 1


# The entry's bytes, written by the database. SQLite writes them only for values of the
# column's own type (typeof); json_quote(NULL) is null, as RFC 8785 writes None.
_SQLITE_BODIES = """
SELECT seq, prev_hash, entry_hash,
  CASE WHEN typeof(seq) = 'integer' AND typeof(occurred_at) = 'text'
        AND typeof(kind) = 'text' AND typeof(actor) = 'text' AND typeof(details) = 'text'
        AND typeof(organisation_code) IN ('text', 'null')
        AND typeof(contract_number) IN ('text', 'null') AND typeof(prev_hash) = 'text'
  THEN CAST('{"actor":' || json_quote(actor) || ',"contract_number":'
            || json_quote(contract_number) || ',"details":' || json_quote(details)
            || ',"kind":' || json_quote(kind) || ',"occurred_at":' || json_quote(occurred_at)
            || ',"organisation_code":' || json_quote(organisation_code)
            || ',"prev_hash":' || json_quote(prev_hash) || ',"seq":' || seq || '}' AS BLOB)
  END
FROM audit_event ORDER BY seq"""

_POSTGRESQL_BODIES = """
SELECT seq, prev_hash, entry_hash,
  convert_to('{"actor":' || to_json(actor)::text || ',"contract_number":'
             || coalesce(to_json(contract_number)::text, 'null')
             || ',"details":' || to_json(details)::text || ',"kind":' || to_json(kind)::text
             || ',"occurred_at":' || to_json(occurred_at)::text || ',"organisation_code":'
             || coalesce(to_json(organisation_code)::text, 'null')
             || ',"prev_hash":' || to_json(prev_hash)::text || ',"seq":' || seq || '}', 'UTF8')
FROM audit_event ORDER BY seq"""

# What the PostgreSQL statement above assumes of the columns (the migrated schema).
_POSTGRESQL_TYPES = {"seq": "bigint", "occurred_at": "character varying",
                     "kind": "character varying", "actor": "character varying",
                     "organisation_code": "character varying",
                     "contract_number": "character varying", "details": "text",
                     "prev_hash": "character varying", "entry_hash": "character varying"}


def _postgresql_columns_as_migrated() -> bool:
    cursor = database.execute_sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'audit_event'")
    types = dict(cursor.fetchall())
    return all(types.get(name) == kind for name, kind in _POSTGRESQL_TYPES.items())


def _fields_of(seq: int) -> tuple:
    """One entry's row as the driver returns it (as chain_rows reads it: no conversion)."""
    sql, params = AuditEvent.select(*_columns()).where(AuditEvent.seq == seq).sql()
    return database.execute_sql(sql, params).fetchone()


def chain_breaks(*, size: int | None = None) -> Iterator[ChainBreak]:
    """Walk the stored chain in order; yield the first break found (then stop)."""
    with contextlib.ExitStack() as stack:
        if not database.in_transaction():  # one snapshot for the check of the columns too
            stack.enter_context(database.atomic())
        if is_postgresql() and _postgresql_columns_as_migrated():
            rows = sql_batches(_POSTGRESQL_BODIES, size=size, binary=True)
        elif is_postgresql():
            rows = None
        else:
            rows = sql_batches(_SQLITE_BODIES, size=size)
        if rows is None:
            with contextlib.closing(chain_rows(size=size)) as rows:
                yield from walk(rows)
            return
        with contextlib.closing(rows):
            yield from walk_bodies(rows, _fields_of)
