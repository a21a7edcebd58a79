"""What the certificate page proves about a revision, checked afresh on every view.

Three parts (DESIGN §5): integrity (the Ed25519 signature over the stored canonical bytes,
verified with the stored public key), issuer (which surety's key signed it), and status
(current / changed / corrected / cancelled, from the visible history).

"Afresh" means over the bytes read for this view. What this process has already checked
of exactly those bytes it remembers (``RememberedChecks``, keyed by their SHA-256), so an
unchanged revision costs a hash, not an Ed25519 verification and a re-canonicalisation;
a byte changed in the database gives another digest and is checked again. `audit verify`
(registry.audit.integrity) never asks this memory: it checks every stored byte itself.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import threading

from .history import Status, hidden_by, status_of, visible_revisions
from ..models import Certificate, Organisation, Revision, SigningKey
from .normalise import normalise_contract_number
from .portfolio import openable
from ..prepared import Prepared, Slot
from .signatures import StoredCheck, check_stored


@dataclasses.dataclass(frozen=True)
class History:
    """All stored revisions of a certificate and what the normal view shows of them."""

    certificate: Certificate
    revisions: list[Revision]          # every stored revision, oldest first
    visible: list[Revision]            # without corrected and cancelled ones
    hidden: dict[int, int]             # hidden number -> number of the revision hiding it
    status: Status

    @property
    def current(self) -> Revision:
        return self.visible[-1]

    def visible_revision(self, number: int | None) -> Revision | None:
        """The visible revision ``number`` (the current one for None); None when there is
        no such visible revision: hidden ones do not exist for staff."""
        if number is None:
            return self.current
        return next((r for r in self.visible if r.number == number), None)

    def previous_visible(self, revision: Revision) -> Revision | None:
        earlier = [r for r in self.visible if r.number < revision.number]
        return earlier[-1] if earlier else None


def _history(certificate: Certificate, revisions: list[Revision]) -> History:
    return History(certificate, revisions, visible_revisions(revisions), hidden_by(revisions),
                   status_of(revisions))


_HISTORY = Prepared(lambda: Revision.select(Revision, SigningKey, Organisation)
                    .join(SigningKey).join(Organisation)
                    .where(Revision.certificate == Slot("certificate"))
                    .order_by(Revision.number))


def history_of(certificate: Certificate) -> History:
    return _history(certificate, _HISTORY.rows(certificate=certificate.id))


# The staff pages' read: the certificate (when the organisation may open it:
# portfolio.openable) and all its revisions with their signing keys, in one statement.
_LISTED_HISTORY = Prepared(lambda: openable(
    Revision.select(Revision, SigningKey, Organisation, Certificate)
    .join(SigningKey).join(Organisation).switch(Revision).join(Certificate),
    number=Slot("number"), organisation=Slot("organisation")).order_by(Revision.number))


def listed_history(*, organisation_id: int, contract_number: str) -> History | None:
    """The history of the certificate behind ``contract_number`` when the organisation
    may open it (it is the obligee and has it on its list); None otherwise, whatever
    the reason. A stored certificate always has revision 1."""
    number = normalise_contract_number(contract_number)
    if number is None:
        return None
    revisions = _LISTED_HISTORY.rows(number=number, organisation=organisation_id)
    if not revisions:
        return None
    certificate = revisions[0].certificate
    for revision in revisions:
        revision.certificate = certificate  # one instance, as history_of gives
    return _history(certificate, revisions)


@dataclasses.dataclass(frozen=True)
class Verification:
    signature_valid: bool      # the signature verifies over the stored bytes
    canonical: bool            # the stored bytes are RFC 8785 canonical
    issuer_matches: bool       # the signing key belongs to the certificate's surety
    surety_name: str
    key_id: str
    fingerprint: str

    @property
    def intact(self) -> bool:
        return self.signature_valid and self.canonical

    @property
    def fingerprint_groups(self) -> list[str]:
        """The SHA-256 fingerprint in groups of four, easier to read aloud."""
        return [self.fingerprint[i:i + 4] for i in range(0, len(self.fingerprint), 4)]


class RememberedChecks:
    """The outcome of ``check_stored`` for the last ``size`` distinct (key, bytes,
    signature) triples, least recently used forgotten first. Keyed by a SHA-256 over the
    three, each length-prefixed, so no two different triples share a key."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._checks: collections.OrderedDict[bytes, StoredCheck] = collections.OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threaded workers share the memory

    @staticmethod
    def digest(public_key: bytes, canonical: bytes, signature: bytes) -> bytes:
        h = hashlib.sha256()
        for part in (public_key, canonical, signature):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.digest()

    def check(self, public_key: bytes, canonical: bytes, signature: bytes) -> StoredCheck:
        digest = self.digest(public_key, canonical, signature)
        with self._lock:
            known = self._checks.get(digest)
            if known is not None:
                self._checks.move_to_end(digest)
                return known
        found = check_stored(public_key, canonical, signature)
        with self._lock:
            self._checks[digest] = found
            while len(self._checks) > self.size:
                self._checks.popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._checks)

    def forget(self) -> None:
        with self._lock:
            self._checks.clear()


# One per process; ~4,096 × (32-byte key + a small frozen result) stays well under 1 MiB.
remembered = RememberedChecks()


def verify_revision(certificate: Certificate, revision: Revision) -> Verification:
    key = revision.signing_key
    stored = remembered.check(bytes(key.public_key), bytes(revision.canonical),
                              bytes(revision.signature))
    return Verification(
        signature_valid=stored.signature_valid,
        canonical=stored.canonical,
        issuer_matches=key.organisation_id == certificate.surety_id,
        surety_name=key.organisation.name,
        key_id=key.key_id,
        fingerprint=key.fingerprint,
    )
