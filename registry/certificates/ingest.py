"""Accepting signed revisions from a surety system (DESIGN §4).

A revision is verified (signature, schema, rules), then stored exactly once inside one
serialised transaction; a retry of the same signed document is answered from what is
stored. Every acceptance and every refusal is an audit event.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

from ..audit.chain import record
from .auth_keys import AuthKeyHasher, generate_auth_key
from ..clock import Clock, utcnow
from ..contracts.records import recheck_certificate
from ..db import write_transaction
from .documents import MAX_REVISION, Document, parse_document, refuse_unsafe_text
from ..errors import (InvalidDocument, NotYourCertificate, ObligeeNotEnrolled, RegistryError,
                      RetiredSigningKey, RevisionConflict, UnknownSigningKey, InvalidSignature,
                      NotFound)
from .history import current_revision, supersedes_problem
from . import portfolio
from ..models import ApiClient, Certificate, Organisation, Revision, SigningKey
from ..notifications import events as notifications
from ..prepared import Prepared, Slot
from ..safe_text import NOT_ALLOWED, is_safe, shown
from .signatures import canonical_bytes, decode_signature, sha256_hex, signature_is_valid

JSON_EXACT = 2**53  # integers beyond it have no exact RFC 8785 form: the chain refuses them
_CONTRACT_NUMBER = re.compile(r"[0-9]{5}-[0-9]{6}")


@dataclasses.dataclass(frozen=True)
class Accepted:
    certificate: Certificate
    revision: Revision
    created: bool                 # False: an idempotent retry of a stored revision
    auth_key: str | None = None   # only for a newly created revision 1, shown once


@dataclasses.dataclass(frozen=True)
class _Verified:
    document: Document
    canonical: bytes
    signature: bytes
    signing_key: SigningKey


def _actor(client: ApiClient) -> str:
    return f"api-client:{client.id}"


def accept_revision(*, client: ApiClient, contract_number: str, number: int, body: object,
                    hasher: AuthKeyHasher, clock: Clock = utcnow) -> Accepted:
    """Verify and store revision ``number`` of ``contract_number`` from ``body``
    ({"document", "signature", "key_id"}). Raises a RegistryError on any refusal,
    after recording it; nothing else is written then."""
    try:
        if not 1 <= number <= MAX_REVISION:
            raise InvalidDocument("The revision number in the URL is out of range.",
                                  [_field("n", f"must be 1 to {MAX_REVISION}")])
        verified = _verify(client, contract_number, number, body)
        return _store(client, contract_number, number, verified, hasher, clock)
    except RegistryError as exc:
        record_refusal(client=client, contract_number=contract_number, number=number,
                       reason=exc.reason, detail=exc.detail,
                       fields=sorted({e["field"] for e in exc.errors}), clock=clock)
        raise


def record_refusal(*, client: ApiClient, contract_number: str, number: int, reason: str,
                   detail: str, fields: list[str] = (), clock: Clock = utcnow) -> None:
    """Audit a refused revision, including one refused before it could be read (a body
    that is not JSON, or too large, or a URL with characters no text may hold). What the
    caller typed is kept only as far as the chain can hold it exactly: a number in JSON's
    exact integer range, field names escaped."""
    record("revision.refused", actor=_actor(client), organisation_code=client.organisation.code,
           contract_number=contract_number if _CONTRACT_NUMBER.fullmatch(contract_number) else None,
           details={"revision": number if abs(number) < JSON_EXACT else None,
                    "reason": reason, "detail": detail,
                    "fields": [shown(field) for field in fields]},
           clock=clock)


def _field(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _verify(client: ApiClient, contract_number: str, number: int, body: object) -> _Verified:
    if not isinstance(body, dict):
        raise InvalidDocument("The request body must be a JSON object.",
                              [_field("body", "must be an object")])
    unknown = set(body) - {"document", "signature", "key_id"}
    shape = [_field(shown(name), "unknown field") for name in sorted(unknown)]
    if not isinstance(body.get("document"), dict):
        shape.append(_field("document", "is required and must be an object"))
    signature = decode_signature(body.get("signature"))
    if signature is None:
        shape.append(_field("signature", "must be the base64 of a 64-byte Ed25519 signature"))
    if not isinstance(body.get("key_id"), str) or not body["key_id"]:
        shape.append(_field("key_id", "is required"))
    elif not is_safe(body["key_id"]):
        shape.append(_field("key_id", NOT_ALLOWED))
    if shape:
        raise InvalidDocument("The request body is not valid.", shape)
    refuse_unsafe_text(body["document"])

    key = _SIGNING_KEY.first(key_id=body["key_id"])
    # Whether the obligee is enrolled is asked in _store, where the stored certificate
    # can answer it without a query.
    return signed_document(client, key, contract_number, number, body)


def _refuse_unenrolled(doc: Document, cert: Certificate | None) -> None:
    """The obligee must be enrolled. A stored certificate's obligee was when revision 1
    arrived, and organisations never change kind: naming it again needs no query."""
    if cert is not None and doc.obligee.code == cert.obligee.code:
        return
    if not obligee_enrolled(doc.obligee.code):
        raise ObligeeNotEnrolled("The obligee is not enrolled on this platform.",
                                 [_field("obligee.code", "is not an enrolled obligee")])


# A PUT's reads and writes, compiled once per process (registry.prepared).
_SIGNING_KEY = Prepared(lambda: SigningKey.select().where(SigningKey.key_id == Slot("key_id"))
                        .limit(1))
_ENROLLED = Prepared(lambda: Organisation.select(Organisation.id)
                     .where(Organisation.code == Slot("code"), Organisation.kind == "obligee")
                     .limit(1))
# The stored certificate with its obligee and every revision, in one statement.
_STORED = Prepared(lambda: Revision.select(Revision, Certificate, Organisation)
                   .join(Certificate)
                   .join(Organisation, on=(Certificate.obligee == Organisation.id))
                   .where(Certificate.contract_number == Slot("number"))
                   .order_by(Revision.number))
_NEW_REVISION = Prepared(lambda: Revision.insert(
    {field: Slot(field.name, field) for field in Revision._meta.sorted_fields
     if field is not Revision._meta.primary_key}))
_SUMMARY_COLUMNS = ("latest_revision", "current_revision", "current_kind", "work_name",
                    "principal_name", "guarantee_amount", "guarantee_period_end", "updated_at")
_NEW_SUMMARY = Prepared(lambda: Certificate.update(
    {Certificate._meta.fields[name]: Slot(name, Certificate._meta.fields[name])
     for name in _SUMMARY_COLUMNS}).where(Certificate.id == Slot("id")))


def obligee_enrolled(code: str) -> bool:
    return _ENROLLED.scalar(code=code) is not None


def signed_document(client: ApiClient, key: SigningKey | None, contract_number: str,
                    number: int, body: dict) -> _Verified:
    """The checks that need no database: ``key`` (the one ``body["key_id"]`` names) is the
    client's and active, the signature verifies over the canonical bytes, and the
    document is valid and matches the request. The bulk loader calls it directly."""
    if key is None or key.organisation_id != client.organisation_id:
        raise UnknownSigningKey("key_id does not name an active signing key of your organisation.")
    if not key.active:
        # Even a retry of a revision stored before: the surety reads it back with GET.
        raise RetiredSigningKey("key_id names a retired signing key; sign with an active one.")
    signature = decode_signature(body.get("signature"))
    try:
        canonical = canonical_bytes(body["document"])
    except Exception:  # rfc8785 refuses floats it cannot represent exactly, and the like
        raise InvalidDocument("The document cannot be canonicalised (RFC 8785).",
                              [_field("document", "holds a value RFC 8785 cannot represent")]) from None
    if not signature_is_valid(bytes(key.public_key), canonical, signature):
        raise InvalidSignature("The signature does not verify over the document's canonical bytes.")

    doc = parse_document(body["document"])
    errors = []
    if doc.contract_number != contract_number:
        errors.append(_field("contract_number", "differs from the contract number in the URL"))
    if doc.revision != number:
        errors.append(_field("revision", "differs from the revision number in the URL"))
    if doc.surety.code != client.organisation.code:
        errors.append(_field("surety.code", "is not your organisation's code"))
    if errors:
        raise InvalidDocument("The document does not match the request.", errors)
    return _Verified(doc, canonical, signature, key)


def _store(client, contract_number, number, v: _Verified, hasher, clock) -> Accepted:
    auth_key = digest = None
    if number == 1 and not Certificate.select().where(
            Certificate.contract_number == contract_number).exists():
        # Hash outside the lock: argon2id is the slow part and needs no serialisation.
        auth_key = generate_auth_key()
        digest = hasher.digest(auth_key)

    with write_transaction():
        cert, revisions = _stored(contract_number)
        _refuse_unenrolled(v.document, cert)
        if cert is not None and cert.surety_id != client.organisation_id:
            raise NotYourCertificate("This certificate belongs to another surety.")
        if cert is not None:
            stored = next((r for r in revisions if r.number == number), None)
            if stored is not None:
                if bytes(stored.canonical) == v.canonical and bytes(stored.signature) == v.signature:
                    return Accepted(cert, stored, created=False)
                raise RevisionConflict(f"Revision {number} is already stored with different content.")
            _check_continues(cert, revisions, number, v.document)
        elif number != 1:
            raise RevisionConflict(f"Revision {number} cannot come before revision 1.")
        else:
            # digest is set: certificates are never deleted, so the pre-check saw none either.
            cert = _create_certificate(client, v.document, digest, clock)
        arrived_at = clock()
        amount_before = cert.guarantee_amount
        revision = _new_revision(cert, number, v, arrived_at)
        current = _refresh_summary(cert, [*revisions, revision], clock)
        listed_by = portfolio.follow_certificate_update(cert)
        recheck_certificate(cert, current)
        record("revision.accepted", actor=_actor(client), organisation_code=client.organisation.code,
               contract_number=contract_number,
               details=acceptance_details(v, arrived_at, digest), clock=clock)
        # Only queued here, in the same transaction: nothing is sent during the request.
        notifications.revision_added(certificate=cert, revision=revision,
                                     amount_before=amount_before,
                                     on_obligees_list=cert.obligee_id in listed_by, clock=clock)
    return Accepted(cert, revision, created=True, auth_key=auth_key if number == 1 else None)


def _stored(contract_number: str) -> tuple[Certificate | None, list[Revision]]:
    """The certificate (None when there is none yet) and its revisions, oldest first. A
    stored certificate always has revision 1: both are written in one transaction."""
    revisions = _STORED.rows(number=contract_number)
    if not revisions:
        return None, []
    cert = revisions[0].certificate
    for revision in revisions:
        revision.certificate = cert  # one instance for all, as a join per row would not give
    return cert, revisions


def _new_revision(cert: Certificate, number: int, v: _Verified, arrived_at) -> Revision:
    revision = Revision(certificate=cert, number=number, kind=v.document.kind,
                        supersedes=v.document.supersedes, canonical=v.canonical,
                        signature=v.signature, signing_key=v.signing_key, arrived_at=arrived_at)
    revision.id = _NEW_REVISION.insert(**{name: getattr(revision, name) for name in (
        "certificate", "number", "kind", "supersedes", "canonical", "signature", "signing_key",
        "arrived_at")})
    return revision


def acceptance_details(v: _Verified, arrived_at: dt.datetime, digest: str | None) -> dict:
    """What `audit verify` holds a stored revision row to (integrity.py)."""
    details = {"revision": v.document.revision, "kind": v.document.kind,
               "supersedes": v.document.supersedes, "key_id": v.signing_key.key_id,
               "canonical_sha256": sha256_hex(v.canonical),
               "signature_sha256": sha256_hex(v.signature),
               "obligee_code": v.document.obligee.code, "arrived_at": arrived_at.isoformat()}
    if digest is not None and v.document.revision == 1:
        details["auth_key_digest_sha256"] = sha256_hex(digest.encode())
    return details


def _check_continues(cert: Certificate, revisions: list[Revision], number: int,
                     doc: Document) -> None:
    if number != cert.latest_revision + 1:
        raise RevisionConflict(
            f"Revision {number} is not the next one; the next is {cert.latest_revision + 1}.")
    errors = []
    if doc.product != cert.product:
        errors.append(_field("product", "cannot change between revisions"))
    if doc.obligee.code != cert.obligee.code:
        errors.append(_field("obligee.code", "cannot change between revisions"))
    problem = supersedes_problem(doc.kind, doc.supersedes, revisions)
    if problem:
        errors.append(_field("supersedes", problem))
    if errors:
        raise InvalidDocument("The revision does not follow from the stored history.", errors)


def _create_certificate(client: ApiClient, doc: Document, digest: str, clock) -> Certificate:
    now = clock()
    obligee = Organisation.get(Organisation.code == doc.obligee.code)
    return Certificate.create(
        contract_number=doc.contract_number, surety=client.organisation, obligee=obligee,
        product=doc.product, auth_key_digest=digest, auth_key_issued_at=now,
        latest_revision=0, current_revision=0, current_kind=doc.kind,
        work_name=doc.work.name, principal_name=doc.principal.name,
        guarantee_amount=doc.guarantee_amount, created_at=now, updated_at=now)


def _refresh_summary(cert: Certificate, revisions: list[Revision], clock) -> dict:
    """Mirror the current visible revision of ``revisions`` (all of them, the new one
    included) into the certificate's searchable columns; return its document."""
    current = current_revision(revisions)
    doc = json.loads(bytes(current.canonical))
    for column, value in summary_columns(revisions, current, doc).items():
        setattr(cert, column, value)
    cert.updated_at = clock()
    _NEW_SUMMARY.execute(id=cert.id, **{name: getattr(cert, name) for name in _SUMMARY_COLUMNS})
    return doc


def summary_columns(revisions, current, doc: dict) -> dict:
    """The certificate's searchable columns from its current visible revision."""
    return {"latest_revision": max(r.number for r in revisions),
            "current_revision": current.number, "current_kind": current.kind,
            "work_name": doc["work"]["name"],
            "principal_name": doc["principal"].get("jv_name") or doc["principal"]["name"],
            "guarantee_amount": doc["guarantee_amount"],
            "guarantee_period_end": dt.date.fromisoformat(doc["guarantee_period"]["end"])}


def reissue_auth_key(*, client: ApiClient, contract_number: str, hasher: AuthKeyHasher,
                     clock: Clock = utcnow) -> str:
    """A new auth key for the caller's certificate; the old one stops working at once."""
    auth_key = generate_auth_key()
    digest = hasher.digest(auth_key)
    with write_transaction():
        cert = own_certificate(client, contract_number)
        cert.auth_key_digest = digest
        cert.auth_key_issued_at = clock()
        cert.save()
        record("auth_key.reissued", actor=_actor(client), organisation_code=client.organisation.code,
               contract_number=cert.contract_number,
               details={"auth_key_digest_sha256": sha256_hex(digest.encode())}, clock=clock)
    return auth_key


def own_certificate(client: ApiClient, contract_number: str) -> Certificate:
    """The caller's certificate; another surety's is answered as not found."""
    cert = Certificate.get_or_none(Certificate.contract_number == contract_number)
    if cert is None or cert.surety_id != client.organisation_id:
        raise NotFound("No such certificate of yours.")
    return cert
