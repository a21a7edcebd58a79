"""Accepting many new certificates at once: the bulk loader's write path (registry.demo.seed).

Each revision passes the same checks as a PUT (``ingest.signed_document``: the signing key
is the surety's and active, the signature verifies over the RFC 8785 bytes, the document
is valid and matches its number; ``supersedes_problem`` for the history) and is stored
with the same summary columns and the same ``revision.accepted`` audit details that
`audit verify` holds the rows to. What is batched: the key and the obligee are looked up
once per call, rows go in with multi-row INSERTs, and the audit entries are chained in
memory and appended together (``audit.chain.record_many``).

What a PUT does that this leaves out, on purpose: notifications (a seeded world must not
send a million emails or webhooks) and the contract checks (a certificate that did not
exist a moment ago has no contract recorded yet).
"""
from __future__ import annotations

import dataclasses
import json

from ..audit.chain import Event, record_many
from ..clock import Clock, utcnow
from ..db import insert_rows, write_transaction
from ..errors import ObligeeNotEnrolled, RevisionConflict
from ..models import ApiClient, Certificate, Organisation, Revision, SigningKey
from .history import current_revision, supersedes_problem
from .ingest import acceptance_details, signed_document, summary_columns
from .portfolio import OrganisationCertificate

@dataclasses.dataclass(frozen=True)
class NewCertificate:
    """A certificate to create: its signed revisions 1 … K (request bodies, as a surety
    would PUT them) and the argon2id digest of its auth key."""

    contract_number: str
    bodies: list[dict]
    auth_key_digest: str


def accept_certificates(*, client: ApiClient, key: SigningKey, obligee: Organisation,
                        certificates: list[NewCertificate], listed: bool,
                        clock: Clock = utcnow) -> int:
    """Verify and store every revision of every certificate, all or nothing; put them
    on the obligee's list when ``listed``. Raises the registry's own errors (nothing
    stored then). The number of revisions stored."""
    histories = verify_certificates(client=client, key=key, obligee=obligee,
                                    certificates=certificates)
    return store_certificates(client=client, obligee=obligee, certificates=certificates,
                              histories=histories, listed=listed, clock=clock)


def verify_certificates(*, client: ApiClient, key: SigningKey, obligee: Organisation,
                        certificates: list[NewCertificate]) -> list[list]:
    """The PUT's checks for every revision; no database access, so a pool of processes
    may run it (the seed does). ``client.organisation`` must be loaded."""
    if obligee.kind != "obligee":
        raise ObligeeNotEnrolled(f"{obligee.code} is not an enrolled obligee.")
    return [_verified_history(client, key, obligee, new) for new in certificates]


def store_certificates(*, client: ApiClient, obligee: Organisation,
                       certificates: list[NewCertificate], histories: list[list],
                       listed: bool, clock: Clock = utcnow) -> int:
    """Store what ``verify_certificates`` passed, in one serialised transaction."""
    now = clock()
    with write_transaction():
        numbers = [new.contract_number for new in certificates]
        taken = list(Certificate.select(Certificate.contract_number)
                     .where(Certificate.contract_number.in_(numbers)).limit(1).tuples())
        if taken:
            raise RevisionConflict(f"Certificate {taken[0][0]} is already stored.")
        insert_rows(Certificate, [_certificate_row(client, obligee, new, history, now)
                              for new, history in zip(certificates, histories)])
        ids = dict(Certificate.select(Certificate.contract_number, Certificate.id)
                   .where(Certificate.contract_number.in_(numbers)).tuples())
        revisions, events = [], []
        for new, history in zip(certificates, histories):
            for verified in history:
                revisions.append(_revision_row(ids[new.contract_number], verified, now))
                events.append(Event("revision.accepted", actor=f"api-client:{client.id}",
                                    organisation_code=client.organisation.code,
                                    contract_number=new.contract_number,
                                    details=acceptance_details(verified, now, new.auth_key_digest)))
        insert_rows(Revision, revisions)
        if listed:
            insert_rows(OrganisationCertificate, [
                {"organisation": obligee.id, "certificate": ids[n], "added_at": now,
                 "certificate_updated_at": now}
                for n in numbers])
        record_many(events, clock=lambda: now)
    return len(revisions)


def _verified_history(client, key, obligee, new: NewCertificate) -> list:
    """Each body through the PUT's checks, and each revision through the history rule."""
    history = []
    for number, body in enumerate(new.bodies, start=1):
        verified = signed_document(client, key, new.contract_number, number, body)
        doc = verified.document
        if doc.obligee.code != obligee.code:
            raise ObligeeNotEnrolled(f"Revision {number} of {new.contract_number} names "
                                     f"another obligee ({doc.obligee.code}).")
        if number > 1 and (doc.product != history[0].document.product
                           or doc.obligee.code != history[0].document.obligee.code):
            raise RevisionConflict(f"Revision {number} of {new.contract_number} changes "
                                   "its product or obligee.")
        problem = supersedes_problem(doc.kind, doc.supersedes,
                                     [_Stored(v.document) for v in history])
        if problem:
            raise RevisionConflict(f"Revision {number} of {new.contract_number}: {problem}")
        history.append(verified)
    return history


@dataclasses.dataclass(frozen=True)
class _Stored:
    """A revision as the history rules read it (number, kind, supersedes)."""

    document: object

    @property
    def number(self) -> int:
        return self.document.revision

    @property
    def kind(self) -> str:
        return self.document.kind

    @property
    def supersedes(self) -> int | None:
        return self.document.supersedes


def _certificate_row(client, obligee, new: NewCertificate, history: list, now) -> dict:
    stored = [_Stored(v.document) for v in history]
    current = current_revision(stored)
    canonical = next(v.canonical for v in history if v.document.revision == current.number)
    summary = summary_columns(stored, current, json.loads(canonical))
    first = history[0].document
    return {"contract_number": new.contract_number, "surety": client.organisation_id,
            "obligee": obligee.id, "product": first.product,
            "auth_key_digest": new.auth_key_digest, "auth_key_issued_at": now,
            "created_at": now, "updated_at": now, **summary}


def _revision_row(certificate_id: int, verified, now) -> dict:
    doc = verified.document
    return {"certificate": certificate_id, "number": doc.revision, "kind": doc.kind,
            "supersedes": doc.supersedes, "canonical": verified.canonical,
            "signature": verified.signature, "signing_key": verified.signing_key.id,
            "arrived_at": now}
