"""`audit verify`: the chain, and every stored revision and certificate against what was
signed and what the trail recorded when it was accepted.

Someone with write access to the database could change more than the signed bytes: the
columns beside them decide what staff see (``kind`` and ``supersedes`` decide which
revisions are hidden, ``arrived_at`` is the official issue time, the certificate's
obligee decides who may look it up, its auth key digest who holds the key). Each is
checked against the signed document or against the acceptance and reissue events,
whose own integrity the chain (and a signed checkpoint) proves.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from typing import Callable, Iterable, Iterator

import rfc8785

from . import stored_rows
from .chain import chain_breaks
from ..db import database, is_postgresql
from ..certificates.history import current_revision
from ..models import AuditEvent
from ..certificates.signatures import read_stored, sha256_hex


# What a value that cannot be what its column says raises on the way out (SQLite keeps
# any type in any column; an attacker with owner rights can write one anywhere).
UNREADABLE = (TypeError, ValueError, AttributeError, KeyError, IndexError, UnicodeError,
              OverflowError, rfc8785.CanonicalizationError)


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


@dataclasses.dataclass
class _Recorded:
    """What the trail says of one certificate: per revision, its acceptance event's
    details; and the digest of the auth key hash last issued (at revision 1 or a reissue)."""
    acceptances: dict[int, tuple[int, dict]]   # n -> (seq, details)
    auth_key: tuple[int, str] | None           # (seq, sha256)
    problems: list[str]


def _read_events(events) -> _Recorded:
    recorded = _Recorded({}, None, [])
    for seq, kind, _, details in events:
        try:
            details = json.loads(details)
            if kind == "revision.accepted":
                recorded.acceptances[int(details["revision"])] = (seq, details)
            key_digest = details.get("auth_key_digest_sha256")
        except (ValueError, KeyError, TypeError, AttributeError):
            recorded.problems.append(f"audit entry {seq}: {kind} details cannot be read")
            continue
        if key_digest:
            recorded.auth_key = (seq, key_digest)
    return recorded


def _recorded() -> Iterator[tuple[object, _Recorded]]:
    """(contract number, what the trail recorded of it), in stored_rows' order. Lazy:
    read in the snapshot of whoever iterates it."""
    for number, events in itertools.groupby(stored_rows.recorded_events(),
                                            key=lambda event: event[2]):
        yield number, _read_events(events)


def _acceptance_problem(canonical: bytes, accepted: tuple[int, dict] | None) -> str | None:
    if accepted is None:
        return "no acceptance event in the audit trail"
    if accepted[1].get("canonical_sha256") != sha256_hex(canonical):
        return "stored bytes differ from the digest recorded when it was accepted"
    return None


def _row_problems(row, document: dict, accepted: dict) -> Iterator[str]:
    """The columns beside the signed bytes, against the document and the acceptance."""
    signed = {"number": document.get("revision"), "kind": document.get("kind"),
              "supersedes": document.get("supersedes"),
              "contract number": document.get("contract_number"),
              "product": document.get("product"),
              "obligee": (document.get("obligee") or {}).get("code")}
    stored = {"number": row.number, "kind": row.kind, "supersedes": row.supersedes,
              "contract number": row.contract_number, "product": row.product,
              "obligee": row.obligee_code}
    for column, value in stored.items():
        if value != signed[column]:
            yield f"stored {column} {value!r} differs from the signed document's {signed[column]!r}"
    if accepted.get("key_id") != row.key_id:
        yield "signing key differs from the one recorded when it was accepted"
    if not isinstance(row.arrived_at, dt.datetime):
        yield f"arrival time {row.arrived_at!r} cannot be read as a date and time"
    elif "arrived_at" in accepted and accepted["arrived_at"] != row.arrived_at.isoformat():
        yield "arrival time differs from the one recorded when it was accepted"


def _revision_problems(row, accepted: tuple[int, dict] | None) -> Iterator[str]:
    canonical = bytes(row.canonical)
    # The bytes are parsed once: for the canonical check and for the columns beside them.
    stored, document = read_stored(bytes(row.public_key), canonical, bytes(row.signature))
    problem = stored.problem or _acceptance_problem(canonical, accepted)
    if problem:
        yield problem
    else:
        yield from _row_problems(row, document, accepted[1])


def _certificate_problems(contract_number: str, rows: list, recorded: _Recorded) -> Iterator[str]:
    label = f"certificate {contract_number}"
    cert = rows[0]
    numbers = [r.number for r in rows]
    if cert.latest_revision != max(numbers):
        yield f"{label}: latest revision {cert.latest_revision} but {max(numbers)} are stored"
    if cert.current_revision != current_revision(rows).number:
        yield f"{label}: current revision {cert.current_revision} is not the newest visible one"
    issued = recorded.auth_key
    if issued is not None and issued[1] != sha256_hex(cert.auth_key_digest.encode()):
        yield f"{label}: auth key digest differs from the one issued in audit entry {issued[0]}"


def _one_certificate(contract_number, rows: list, recorded: _Recorded) -> Iterator[str]:
    yield from recorded.problems
    unseen = dict(recorded.acceptances)
    for row in rows:
        label = f"revision {contract_number}/{row.number}"
        accepted = unseen.pop(row.number, None)
        try:
            yield from (f"{label}: {p}" for p in _revision_problems(row, accepted))
        except UNREADABLE as exc:
            yield f"{label}: a stored value cannot be read ({_why(exc)})"
    if rows:
        try:
            yield from _certificate_problems(contract_number, rows, recorded)
        except UNREADABLE as exc:
            yield f"certificate {contract_number}: a stored value cannot be read ({_why(exc)})"
    for number, (seq, _) in sorted(unseen.items()):
        yield f"revision {contract_number}/{number}: accepted in audit entry {seq} but not stored"


def revision_problems() -> Iterator[str]:
    """Every stored revision or certificate that no longer agrees with what was signed
    and recorded, and every accepted revision that is no longer stored: a certificate
    at a time, the stored rows and the trail's events read side by side (stored_rows)."""
    with _snapshot():
        for number, rows, recorded in stored_rows.merged(stored_rows.stored_revisions(),
                                                         _recorded()):
            yield from _one_certificate(number, rows, recorded or _Recorded({}, None, []))


def _snapshot():
    """One consistent view of the log and the revisions while sureties keep posting:
    otherwise a revision committed between reading the trail and reading the revisions
    would be reported as altered (or missing). SQLite (WAL): a read transaction sees one
    snapshot. PostgreSQL: READ COMMITTED takes one per statement, so ask for
    REPEATABLE READ."""
    if is_postgresql() and not database.in_transaction():
        return database.atomic(isolation_level="REPEATABLE READ")
    return database.atomic()


def _collect(what: str, problems: Callable[[], Iterable[str]]) -> list[str]:
    """The problems found until a value stopped the walk, then one naming where."""
    found = []
    try:
        for problem in problems():
            found.append(problem)
    except UNREADABLE as exc:
        found.append(f"{what}: a stored value cannot be read ({_why(exc)})")
    return found


def verify_all(outside: Callable[[], Iterable[str]] | None = None, *,
               processes: int = 1) -> tuple[int, list[str]]:
    """(number of audit entries, problems): the first chain break, then what ``outside``
    finds (the checkpoint directory and time-stamps, checked in the same snapshot), then
    every revision or certificate that does not agree with what was signed and recorded.
    ``processes`` > 1 walks the chain in that many parts at once (chain_split.py)."""
    with _snapshot():
        count = AuditEvent.select().count()
        problems = _collect("audit trail", lambda: (f"audit entry {b.seq}: {b.problem}"
                                                    for b in chain_breaks(processes=processes)))
        if outside is not None:
            problems += _collect("checkpoints", outside)
        problems += _collect("stored revisions", revision_problems)
    return count, problems
