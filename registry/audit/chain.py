"""The hash-chained audit log (DESIGN §6).

Each entry's hash covers its own fields and the previous entry's hash, so changing,
removing or reordering any entry breaks every later link. Appends happen inside
``write_transaction()``, which serialises them on both engines.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Iterator

import rfc8785

from .chain_split import shareable, split_breaks
from .chain_walk import GENESIS, ChainBreak, chain_breaks as _stored_chain_breaks
from .encoding import entry_bytes
from ..clock import Clock, isoformat, utcnow
from ..db import insert_rows, joining_write_transaction
from ..models import AuditEvent
from ..prepared import Prepared, Slot, written_in

# Called as hook(event, previous_head) inside the append's transaction (checkpoints.py).
_append_hooks: list = []


def on_append(hook):
    if hook not in _append_hooks:
        _append_hooks.append(hook)
    return hook


def entry_hash(*, seq: int, occurred_at: str, kind: str, actor: str,
               organisation_code: str | None, contract_number: str | None,
               details: str, prev_hash: str) -> str:
    # RFC 8785 of the eight fields, built without rfc8785 (same bytes; audit_encoding.py)
    body = entry_bytes(seq=seq, occurred_at=occurred_at, kind=kind, actor=actor,
                       organisation_code=organisation_code, contract_number=contract_number,
                       details=details, prev_hash=prev_hash)
    return hashlib.sha256(body).hexdigest()


# Every write of the portal appends here: its two statements are compiled once (and the
# head's LIMIT written in, so PostgreSQL plans it once per connection: written_in).
_HEAD = Prepared(lambda: AuditEvent.select().order_by(AuditEvent.seq.desc()).limit(written_in(1)))
_APPEND = Prepared(lambda: AuditEvent.insert(
    {field: Slot(field.name, field) for field in AuditEvent._meta.sorted_fields
     if field is not AuditEvent._meta.primary_key}))


def record(kind: str, *, actor: str, organisation_code: str | None = None,
           contract_number: str | None = None, details: dict | None = None,
           clock: Clock = utcnow) -> AuditEvent:
    """Append one event. Joins the caller's write transaction, or makes its own.

    ``details`` must never hold a secret (auth key, token, password, OTP).
    """
    with joining_write_transaction():
        head = _HEAD.first()
        seq = head.seq + 1 if head else 1
        prev = head.entry_hash if head else GENESIS
        fields = dict(
            seq=seq, occurred_at=isoformat(clock()), kind=kind, actor=actor,
            organisation_code=organisation_code, contract_number=contract_number,
            details=rfc8785.dumps(details or {}).decode(), prev_hash=prev,
        )
        fields["entry_hash"] = entry_hash(**fields)
        event = AuditEvent(**fields)
        event.id = _APPEND.insert(**fields)
        for hook in _append_hooks:
            hook(event, head)
        return event


@dataclasses.dataclass(frozen=True)
class Event:
    """One event to append with ``record_many``: the arguments of ``record``."""

    kind: str
    actor: str
    organisation_code: str | None = None
    contract_number: str | None = None
    details: dict | None = None


def record_many(events: list[Event], *, clock: Clock = utcnow) -> int:
    """Append many events in order, in the caller's write transaction (or one of its
    own): the head is read once and the entries are inserted together, with exactly
    the hashes ``record`` would give them one by one. The bulk loader's
    path (registry.demo.seed); the number appended."""
    if not events:
        return 0
    with joining_write_transaction():
        head = _HEAD.first()
        seq = head.seq if head else 0
        prev = head.entry_hash if head else GENESIS
        occurred_at = isoformat(clock())
        rows = []
        for event in events:
            seq += 1
            fields = dict(
                seq=seq, occurred_at=occurred_at, kind=event.kind, actor=event.actor,
                organisation_code=event.organisation_code,
                contract_number=event.contract_number,
                details=rfc8785.dumps(event.details or {}).decode(), prev_hash=prev)
            prev = entry_hash(**fields)
            rows.append({**fields, "entry_hash": prev})
        insert_rows(AuditEvent, rows)
        newest = AuditEvent(**rows[-1])
        for hook in _append_hooks:
            hook(newest, head)
        return len(rows)


def chain_breaks(*, processes: int = 1) -> Iterator[ChainBreak]:
    """Walk the chain in order; yield the first break found (then stop). The rows are
    streamed in one read transaction, so concurrent appends do not confuse the walk
    (chain_walk.py). ``processes`` > 1 walks consecutive parts at once, with the same
    verdict (chain_split.py); an in-memory SQLite database is always walked here."""
    if processes > 1 and shareable():
        return split_breaks(processes)
    return _stored_chain_breaks()


def first_event(*, kind: str, contract_number: str) -> AuditEvent | None:
    return (AuditEvent.select().where(AuditEvent.kind == kind,
                                      AuditEvent.contract_number == contract_number)
            .order_by(AuditEvent.seq).first())
