"""Domain errors. The API maps them to problem+json, the staff pages to a message;
one mapping each (dsure_portal/problems.py), never one per view."""
from __future__ import annotations


class RegistryError(Exception):
    """Base of every refusal the registry gives. ``reason`` is a stable machine word
    that goes into the audit trail."""

    reason = "refused"

    def __init__(self, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidDocument(RegistryError):
    """The document breaks the schema or a rule; ``errors`` names the fields."""

    reason = "invalid_document"


class RevisionConflict(RegistryError):
    """The revision number is not the next one, or differs from what is stored."""

    reason = "revision_conflict"


class NotAuthenticated(RegistryError):
    reason = "not_authenticated"


class Forbidden(RegistryError):
    reason = "forbidden"


class UnknownSigningKey(Forbidden):
    reason = "unknown_signing_key"


class RetiredSigningKey(Forbidden):
    reason = "retired_signing_key"


class InvalidSignature(Forbidden):
    reason = "invalid_signature"


class NotYourCertificate(Forbidden):
    reason = "other_surety"


class NotFound(RegistryError):
    reason = "not_found"


class ObligeeNotEnrolled(InvalidDocument):
    reason = "obligee_not_enrolled"


class InvalidInput(RegistryError):
    """Bad operator or user input outside a document (CLI arguments, form fields)."""

    reason = "invalid_input"


class UnreadableNotice(InvalidInput):
    """A notice (PDF or pasted text) that gives no (contract number, auth key) pair.
    ``reason`` says why, one of UnreadableNotice.REASONS; nothing of the input is kept."""

    REASONS = ("not_pdf", "too_large", "encrypted", "broken", "no_text", "too_much",
               "no_pair", "too_many_pairs", "text_too_long")

    def __init__(self, reason: str):
        assert reason in self.REASONS, reason
        super().__init__(f"The notice cannot be read: {reason}.")
        self.reason = reason


class LookupLocked(RegistryError):
    """Too many failed lookups: nothing is checked until ``until``."""

    reason = "lookup_locked"

    def __init__(self, until):
        super().__init__("Too many failed attempts; try again later.")
        self.until = until
