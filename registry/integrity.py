"""`audit verify`: the chain, and every stored revision against its signature and the
digest its acceptance event recorded."""
from __future__ import annotations

import json

from .audit import chain_breaks
from .db import database, is_postgresql
from .models import AuditEvent, Certificate, Revision, SigningKey
from .signatures import is_canonical, sha256_hex, signature_is_valid


def _accepted_digests() -> dict[tuple[str, int], str]:
    rows = (AuditEvent.select(AuditEvent.contract_number, AuditEvent.details)
            .where(AuditEvent.kind == "revision.accepted").tuples())
    return {(number, json.loads(details)["revision"]): json.loads(details)["canonical_sha256"]
            for number, details in rows.iterator()}


def revision_problems():
    """Yield (label, problem) for every stored revision that no longer verifies."""
    digests = _accepted_digests()
    query = (Revision.select(Revision.number, Revision.canonical, Revision.signature,
                             Certificate.contract_number, SigningKey.public_key)
             .join_from(Revision, Certificate).join_from(Revision, SigningKey)
             .order_by(Certificate.contract_number, Revision.number).tuples())
    for number, canonical, signature, contract_number, public_key in query.iterator():
        label = f"revision {contract_number}/{number}"
        canonical = bytes(canonical)
        if not signature_is_valid(bytes(public_key), canonical, bytes(signature)):
            yield label, "signature does not verify over the stored bytes"
        elif not is_canonical(canonical):
            yield label, "stored bytes are not RFC 8785 canonical"
        elif digests.get((contract_number, number)) != sha256_hex(canonical):
            yield label, "stored bytes differ from the digest recorded when it was accepted"


def _snapshot():
    """One consistent view of the log and the revisions while sureties keep posting:
    otherwise a revision committed between reading the recorded digests and reading
    the revisions would be reported as altered, and the count could exceed what was
    walked. SQLite (WAL): a read transaction sees one snapshot. PostgreSQL: READ
    COMMITTED takes one per statement, so ask for REPEATABLE READ."""
    if is_postgresql() and not database.in_transaction():
        return database.atomic(isolation_level="REPEATABLE READ")
    return database.atomic()


def verify_all() -> tuple[int, list[str]]:
    """(number of audit entries, problems); the first chain break and every bad revision."""
    with _snapshot():
        count = AuditEvent.select().count()
        problems = [f"audit entry {b.seq}: {b.problem}" for b in chain_breaks()]
        problems += [f"{label}: {problem}" for label, problem in revision_problems()]
    return count, problems
