"""What the certificate page proves about a revision, checked afresh on every view.

Three parts (DESIGN §5): integrity (the Ed25519 signature over the stored canonical bytes,
re-verified now with the stored public key), issuer (which surety's key signed it), and
status (current / changed / corrected / cancelled, from the visible history).
"""
from __future__ import annotations

import dataclasses

from .history import Status, hidden_by, status_of, visible_revisions
from ..models import Certificate, Organisation, Revision, SigningKey
from .signatures import check_stored


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


def history_of(certificate: Certificate) -> History:
    revisions = list(Revision.select(Revision, SigningKey, Organisation)
                     .join(SigningKey).join(Organisation)
                     .where(Revision.certificate == certificate)
                     .order_by(Revision.number))
    return History(certificate, revisions, visible_revisions(revisions), hidden_by(revisions),
                   status_of(revisions))


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


def verify_revision(certificate: Certificate, revision: Revision) -> Verification:
    key = revision.signing_key
    stored = check_stored(bytes(key.public_key), bytes(revision.canonical), bytes(revision.signature))
    return Verification(
        signature_valid=stored.signature_valid,
        canonical=stored.canonical,
        issuer_matches=key.organisation_id == certificate.surety_id,
        surety_name=key.organisation.name,
        key_id=key.key_id,
        fingerprint=key.fingerprint,
    )
