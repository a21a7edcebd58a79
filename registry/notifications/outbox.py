"""The outbox: messages written in the transaction of their event, claimed by workers
with a lease, and settled exactly once.

Claiming is safe with any number of workers on either engine. PostgreSQL: the due rows
are selected ``FOR UPDATE SKIP LOCKED``, so two claimers never wait on or take the same
row. SQLite: the claim runs under the write lock (``BEGIN IMMEDIATE``). On both, the
UPDATE that takes a row repeats the "still claimable" condition, so a row is only ever
held by one claim. A claim is a random token and a lease (``claimed_until``): a worker
killed mid-delivery holds nothing once its lease has run out.

Settling a row is conditional on the claim still being ours and the row still pending:
a row is marked delivered once, even when its message reached the receiver twice (a
lease that ran out mid-delivery; delivery is at least once).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets

import peewee as pw

from ..clock import Clock, utcnow
from ..db import database, insert_rows, is_postgresql, write_transaction
from .models import OutboxMessage


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential back-off with jitter and a cap: 30 s, 1 min, 2 min, … 1 h, then the
    message is dead after ``max_attempts``. Jitter takes up to ``jitter`` of each delay
    off, so messages that failed together do not all come back at the same second."""

    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)
    max_attempts: int = 10
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> dt.timedelta:
        full = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return full * (1 - self.jitter * rng.random())


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def message_row(*, channel: str, event_type: str, organisation_id: int, contract_number: str,
                payload: str, now: dt.datetime, user_id: int | None = None,
                endpoint_id: int | None = None) -> dict:
    """The stored fields of one new message, due now."""
    assert channel in OutboxMessage.CHANNELS
    return dict(message_id=new_message_id(), channel=channel, event_type=event_type,
                organisation=organisation_id, contract_number=contract_number, user=user_id,
                endpoint=endpoint_id, payload=payload, created_at=now, next_attempt_at=now,
                status="pending", attempts=0)


def enqueue(*, channel: str, event_type: str, organisation_id: int, contract_number: str,
            payload: str, user_id: int | None = None, endpoint_id: int | None = None,
            clock: Clock = utcnow) -> OutboxMessage:
    """One message. Call inside the transaction of the event that causes it."""
    return OutboxMessage.create(**message_row(
        channel=channel, event_type=event_type, organisation_id=organisation_id,
        contract_number=contract_number, payload=payload, now=clock(), user_id=user_id,
        endpoint_id=endpoint_id))


def enqueue_all(rows: list[dict]) -> int:
    """Many messages (``message_row``s) in one statement run for each (executemany),
    inside the caller's transaction; how many."""
    insert_rows(OutboxMessage, rows)
    return len(rows)


def _claimable(now: dt.datetime):
    return ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)
            & (OutboxMessage.claimed_until.is_null() | (OutboxMessage.claimed_until < now)))


@dataclasses.dataclass(frozen=True)
class Claimed:
    message: OutboxMessage
    token: str
    abandoned: bool   # an earlier claim of it ran out without a result (a worker died)


def claim(*, limit: int, lease: dt.timedelta, channels=OutboxMessage.CHANNELS,
          clock: Clock = utcnow) -> list[Claimed]:
    """Take up to ``limit`` due messages for ``lease``; each claim counts as an attempt."""
    now = clock()
    token = secrets.token_hex(16)
    candidates = (OutboxMessage.select(OutboxMessage.id, OutboxMessage.claimed_until)
                  .where(_claimable(now), OutboxMessage.channel.in_(list(channels)))
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                  .limit(limit))
    if is_postgresql():
        context = database.atomic()
        candidates = candidates.for_update(skip_locked=True)
    else:
        context = database.atomic(lock_type="IMMEDIATE")
    with context:
        rows = list(candidates.tuples())
        if not rows:
            return []
        abandoned = {row_id for row_id, until in rows if until is not None}
        (OutboxMessage
         .update(claim_token=token, claimed_until=now + lease,
                 attempts=OutboxMessage.attempts + 1)
         .where(OutboxMessage.id.in_([row_id for row_id, _ in rows]), _claimable(now))
         .execute())
        taken = list(OutboxMessage.select().where(OutboxMessage.claim_token == token)
                     .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id))
    return [Claimed(m, token, m.id in abandoned) for m in taken]


def _settle(claimed: Claimed, **changes) -> bool:
    """Apply ``changes`` if the claim is still this worker's; True when it was."""
    updated = (OutboxMessage
               .update(claim_token=None, claimed_until=None, **changes)
               .where(OutboxMessage.id == claimed.message.id,
                      OutboxMessage.claim_token == claimed.token,
                      OutboxMessage.status == "pending")
               .execute())
    return updated == 1


def mark_delivered(claimed: Claimed, *, clock: Clock = utcnow) -> bool:
    return _settle(claimed, status="delivered", delivered_at=clock(), last_error=None)


def mark_failed(claimed: Claimed, *, error: str, permanent: bool, backoff: Backoff,
                rng: random.Random, clock: Clock = utcnow) -> tuple[bool, str, dt.datetime | None]:
    """Schedule a retry, or give up: (settled, "retry" | "dead", next attempt)."""
    attempt = claimed.message.attempts
    if permanent or attempt >= backoff.max_attempts:
        return _settle(claimed, status="dead", last_error=error[:200]), "dead", None
    when = clock() + backoff.delay(attempt, rng)
    return _settle(claimed, last_error=error[:200], next_attempt_at=when), "retry", when


def mark_cancelled(claimed: Claimed, *, reason: str) -> bool:
    return _settle(claimed, status="cancelled", last_error=reason[:200])


def cancel_pending_for_endpoint(endpoint_id: int, *, clock: Clock = utcnow) -> int:
    """The endpoint was removed: what is still pending for it will never go."""
    return (OutboxMessage.update(status="cancelled", last_error="endpoint removed",
                                 claim_token=None, claimed_until=None)
            .where(OutboxMessage.endpoint == endpoint_id, OutboxMessage.status == "pending")
            .execute())


# --- what an operator looks at ---------------------------------------------------------

def counts() -> dict[tuple[str, str], int]:
    """{(channel, status): n}"""
    rows = (OutboxMessage.select(OutboxMessage.channel, OutboxMessage.status,
                                 pw.fn.COUNT(OutboxMessage.id))
            .group_by(OutboxMessage.channel, OutboxMessage.status).tuples())
    return {(channel, status): n for channel, status, n in rows}


def dead_messages(limit: int = 50) -> list[OutboxMessage]:
    return list(OutboxMessage.select().where(OutboxMessage.status == "dead")
                .order_by(OutboxMessage.id.desc()).limit(limit))


def due_count(*, clock: Clock = utcnow) -> int:
    return OutboxMessage.select().where(_claimable(clock())).count()


def retry_dead(message_ids: list[str] | None = None, *, actor: str,
               clock: Clock = utcnow) -> int:
    """Give dead messages a fresh set of attempts (after the endpoint or the mail server
    is fixed). None: every dead message. Audited."""
    from ..audit.chain import record
    with write_transaction():
        query = OutboxMessage.select(OutboxMessage.id, OutboxMessage.message_id).where(
            OutboxMessage.status == "dead")
        if message_ids is not None:
            query = query.where(OutboxMessage.message_id.in_(list(message_ids)))
        rows = list(query.order_by(OutboxMessage.id).tuples())
        if not rows:
            return 0
        (OutboxMessage.update(status="pending", attempts=0, next_attempt_at=clock(),
                              last_error=None)
         .where(OutboxMessage.id.in_([row_id for row_id, _ in rows])).execute())
        record("outbox.retried", actor=actor, details={"message_ids": [m for _, m in rows]},
               clock=clock)
    return len(rows)
